"""What every operator command that takes `--company SLUG` shares."""

from django.core.management.base import CommandError

from accounts.models import Company


def company_by_slug(slug: str) -> Company:
    """The company the operator named, or a clear CommandError (nothing is changed)."""
    company = Company.objects.filter(slug=slug).first()
    if company is None:
        raise CommandError(f"No company with the slug '{slug[:60]}'.")
    return company
