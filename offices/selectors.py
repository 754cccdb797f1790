"""Reads that need care: counts without N+1 queries, the users who need a number, the main
office, and the office hold the ORM cannot ask for."""

from __future__ import annotations

from functools import cache

from django.db import connections, router
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import Company, User, UserStatus
from accounts.words import count
from offices.models import Office, PhoneNumber


def office_deletion_blockers(office: Office) -> list[str]:
    """Why `office` cannot be deleted now, in words (empty: it can)."""
    users = office.users.count()
    numbers = office.phone_numbers.count()
    blockers = []
    if users or numbers:
        held = " and ".join(
            part
            for part in (
                count(users, "user") if users else "",
                count(numbers, "phone number") if numbers else "",
            )
            if part
        )
        blockers.append(f"{office.name} still has {held}. Move them to another office first.")
    if office.is_main and Office.objects.filter(company_id=office.company_id).count() > 1:
        blockers.append(
            f"{office.name} is the main office. Make another office the main office first."
        )
    return blockers


def main_office(company_id: int | None) -> Office | None:
    """The company's main office, or None (a company without offices yet)."""
    if company_id is None:
        return None  # a platform operator's: no company, no offices
    return Office.objects.filter(company_id=company_id, is_main=True).first()


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


@cache
def _hold_office_sql(using: str) -> str:
    connection = connections[using]
    quote = connection.ops.quote_name
    lock = ""
    if connection.vendor == "postgresql":
        lock = " FOR KEY SHARE"
    elif connection.features.has_select_for_update:
        lock = " " + connection.ops.for_update_sql()
    return (
        f"SELECT 1 FROM {quote(Office._meta.db_table)} "  # noqa: S608 (names from the model, quoted)
        f"WHERE {quote(Office._meta.pk.column)} = %s{lock}"
    )


def hold_office(office_pk: int) -> bool:
    """Hold the office in the caller's transaction so that no one deletes it meanwhile; False
    when it no longer exists.

    PostgreSQL's FOR KEY SHARE, which the ORM cannot ask for: it blocks a delete (FOR UPDATE)
    but not a group write (which holds its office FOR NO KEY UPDATE), so a user moving into an
    office never waits on that office's group write while holding the user row the group write
    wants next (a deadlock with FOR UPDATE on both sides). SQLite writes one at a time anyway.
    """
    using = router.db_for_write(Office)
    with connections[using].cursor() as cursor:
        cursor.execute(_hold_office_sql(using), [office_pk])
        return cursor.fetchone() is not None
