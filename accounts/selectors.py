"""Reads for Admin Settings that need care: ghost accounts, a user's history, seat usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.audit import Source
from accounts.models import (
    AuditEvent,
    Company,
    LicenseSeats,
    LicenseType,
    ManagedBy,
    User,
    UserStatus,
)

GHOST_DAYS_DEFAULT = 30
USER_TARGET_TYPE = User._meta.label_lower


def seen_by_scim_since(days: int) -> Exists:
    """True for a user the identity provider created or changed over SCIM in the last `days`."""
    return Exists(
        AuditEvent.objects.filter(
            target_type=USER_TARGET_TYPE,
            target_id=Cast(OuterRef("pk"), output_field=CharField()),
            source=Source.SCIM,
            created_at__gte=timezone.now() - timedelta(days=days),
        )
    )


def ghost_accounts(users: QuerySet[User], *, days: int = GHOST_DAYS_DEFAULT) -> QuerySet[User]:
    """Active users the identity provider does not vouch for: created by hand (managed_by
    manual), or SCIM-managed but neither created nor changed over SCIM in the last `days`.

    OneLogin writes only when something changes, so a long-quiet SCIM user is a candidate to
    check, not proof of a leaver; the report says so.
    """
    return users.filter(status=UserStatus.ACTIVE).filter(
        Q(managed_by=ManagedBy.MANUAL) | Q(~seen_by_scim_since(days), managed_by=ManagedBy.SCIM)
    )


def user_history(user: User, *, limit: int = 20) -> list[AuditEvent]:
    """The newest audit events about a user (their provisioning history), newest first: what
    was done to them, and the decisions on their queued changes ("Change approved")."""
    # The queued changes through the user's reverse relation: approvals builds on accounts.
    changes = user.pending_changes
    change_ids = [str(pk) for pk in changes.values_list("pk", flat=True)]
    about_changes = Q(target_type=changes.model._meta.label_lower, target_id__in=change_ids)
    return list(
        AuditEvent.objects.filter(company=user.company)
        .filter(Q(target_type=USER_TARGET_TYPE, target_id=str(user.pk)) | about_changes)
        .exclude(action="provisioning.change_queued")  # the reservation or update says it
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class SeatUsage:
    license_type: str
    label: str
    used: int
    seats: int

    @property
    def percent(self) -> int:
        if self.seats == 0:
            return 100 if self.used else 0
        return min(100, round(100 * self.used / self.seats))

    @property
    def level(self) -> str:
        """ok, high (90 %+) or full: the bar's colour."""
        if self.used >= self.seats:
            return "full"
        return "high" if self.percent >= 90 else "ok"


class LicenseUsage(NamedTuple):
    used: int
    total: int

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


def license_usage(company: Company) -> dict[str, LicenseUsage]:
    """Seats in use (active users holding the type) and bought, per license type."""
    rows = {
        row.license_type: LicenseUsage(row.used, row.seats)
        for row in LicenseSeats.objects.filter(company=company)
    }
    return {
        license_type: rows.get(license_type, LicenseUsage(0, 0))
        for license_type in LicenseType.values
    }


def seat_usage(company: Company) -> list[SeatUsage]:
    """Seats bought and held per license type, for the seat bars."""
    return [
        SeatUsage(license_type, LicenseType(license_type).label, usage.used, usage.total)
        for license_type, usage in license_usage(company).items()
    ]
