"""Reads that need care: counts without N+1 queries, the users who need a number."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import Company, User, UserStatus
from offices.models import Office, PhoneNumber


def users_needing_number(company: Company) -> QuerySet[User]:
    """Active users holding a license but no phone number: flagged for the admin."""
    return User.objects.filter(
        company=company,
        status=UserStatus.ACTIVE,
        phone_number__isnull=True,
    ).exclude(license_type="")


def needs_number(user: User) -> bool:
    return (
        user.status == UserStatus.ACTIVE
        and bool(user.license_type)
        and not PhoneNumber.objects.filter(assigned_user=user).exists()
    )


def _count(queryset: QuerySet) -> Coalesce:
    # One correlated subquery per count: joining users and numbers together would multiply rows.
    counted = queryset.order_by().values("office").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_counts(offices: QuerySet[Office]) -> QuerySet[Office]:
    """Offices annotated with user_count, number_count and free_number_count."""
    return offices.annotate(
        user_count=_count(User.objects.filter(office=OuterRef("pk"))),
        number_count=_count(PhoneNumber.objects.filter(office=OuterRef("pk"))),
        free_number_count=_count(
            PhoneNumber.objects.filter(office=OuterRef("pk"), assigned_user__isnull=True)
        ),
    )
