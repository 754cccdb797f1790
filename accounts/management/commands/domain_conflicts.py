from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts import domains
from accounts.management.companies import company_by_slug


class Command(BaseCommand):
    help = (
        "List accounts of other companies whose sign-in email is in a company's verified "
        "domain, for the operator to settle (nothing is moved)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--company", metavar="SLUG", help="only the domains this company verified"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["company"]) if options["company"] else None
        conflicts = domains.domain_conflicts(company=company)
        for claim, user in conflicts:
            owner = user.company.slug if user.company else "-"
            self.stdout.write(
                f"{claim.domain} (verified by {claim.company.slug}): {user.email} in {owner}"
            )
        self.stdout.write(f"{len(conflicts)} account(s) in another company's verified domain.")
