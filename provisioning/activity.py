"""Is OneLogin connected and healthy? SCIM activity as the SCIM Provisioning page shows it.

Everything is read from what is already recorded — the audit log (every SCIM change has source
"scim") and the API keys' last-used stamps — plus one audited event this module writes:
`scim.request_refused`, for a request from a valid key that we refused (a 4xx), so the page can
count errors and show their detail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince

from accounts import audit_events
from accounts.audit import Source, record_audit
from accounts.models import AuditEvent, Company
from apikeys.models import APIKey, Scope

REFUSED = "scim.request_refused"
# A client still sending a revoked or expired key is an error an admin must see.
ERROR_ACTIONS = (REFUSED, "api_key.revoked_key_used", "api_key.expired_key_used")
QUEUED_ACTIONS = ("provisioning.change_queued", "user.reserved")
# An approved create takes effect as `user.activated` (the reserved user made active).
CREATE_ACTIONS = ("user.created", "user.activated")
DELETE_ACTIONS = ("user.deleted",)
SUSPEND_ACTIONS = ("user.suspended",)
# One SCIM request may write several events (a PATCH: profile, office, number): it counts once,
# as the first of these kinds it did; anything else it changed makes it an update.
KINDS = ("errors", "queued", "creates", "deletes", "suspends", "updates")
_ACTIONS_OF = {
    "errors": ERROR_ACTIONS,
    "queued": QUEUED_ACTIONS,
    "creates": CREATE_ACTIONS,
    "deletes": DELETE_ACTIONS,
    "suspends": SUSPEND_ACTIONS,
}
KIND_LABELS = {
    "creates": "Users created",
    "updates": "Users updated",
    "suspends": "Users suspended",
    "deletes": "Users deleted",
    "queued": "Changes queued for approval",
    "errors": "Refused (errors)",
}
WINDOWS = (("24 hours", timedelta(hours=24)), ("7 days", timedelta(days=7)))
# The light shows "with errors" while a refusal is this recent: it says how things are now.
HEALTH_WINDOW = timedelta(minutes=15)
MAX_DETAIL = 500


def record_refused_request(
    *, key: APIKey, request: HttpRequest, operation: str, status: int, detail: str
) -> AuditEvent:
    """Audit a SCIM request we refused although its key was good (bad body, unknown user, no
    free seat …): the SCIM Provisioning page counts these as errors and shows the detail."""
    return record_audit(
        actor=key,
        source=Source.SCIM,
        action=REFUSED,
        company=key.company,
        after={
            "status": status,
            "operation": operation,
            "method": request.method,
            "path": _storable(request.path)[:200],
            "detail": _storable(detail)[:MAX_DETAIL],
        },
    )


def _storable(text: str) -> str:
    # The detail may quote the client's input; PostgreSQL's JSON cannot hold a NUL character.
    return text.replace("\x00", "\ufffd")


def should_record_refusal(method: str, status: int) -> bool:
    """4xx answers worth an admin's attention: not a read of a resource that is gone (clients
    probe for users they believe deleted), not 401/429 (no key, so no company to tell)."""
    if not 400 <= status < 500 or status in (401, 429):
        return False
    return not (method in ("GET", "HEAD") and status == 404)


@dataclass
class KeyUse:
    key: APIKey
    at: datetime | None
    ip: str | None

    @property
    def ago(self) -> str:
        return ago(self.at)


@dataclass
class ProvisioningStatus:
    enterprise: bool
    usable_keys: list[APIKey]
    last_use: KeyUse | None
    last_change: AuditEvent | None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    recent_errors: list[AuditEvent] = field(default_factory=list)

    @property
    def count_rows(self) -> list[tuple[str, str, list[int]]]:
        """(kind, label, one count per window) for the counts table."""
        return [
            (kind, KIND_LABELS[kind], [self.counts[label][kind] for label, _ in WINDOWS])
            for kind in ("creates", "updates", "suspends", "deletes", "queued", "errors")
        ]

    @property
    def windows(self) -> list[str]:
        return [label for label, _ in WINDOWS]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [{"event": event, **error_detail(event)} for event in self.recent_errors]

    @property
    def last_change_ago(self) -> str:
        return ago(self.last_change.created_at if self.last_change else None)

    @property
    def has_key(self) -> bool:
        return bool(self.usable_keys)

    @property
    def last_change_label(self) -> str:
        return audit_events.label(self.last_change.action) if self.last_change else ""

    @property
    def health_window_minutes(self) -> int:
        return int(HEALTH_WINDOW.total_seconds() // 60)

    @property
    def health(self) -> str:
        """connected, errors (a refusal in the last HEALTH_WINDOW), idle (a key, never used) or
        not-connected."""
        if not self.has_key:
            return "not-connected"
        latest_error = self.recent_errors[0].created_at if self.recent_errors else None
        if latest_error is not None and latest_error >= timezone.now() - HEALTH_WINDOW:
            return "errors"
        if self.last_use is None or self.last_use.at is None:
            return "idle"
        return "connected"


def ago(moment: datetime | None) -> str:
    """ "just now", "5 minutes ago", "2 days ago" — or "never"."""
    if moment is None:
        return "never"
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment).split(',')[0]} ago"


def _kind_of(actions: dict[str, int]) -> str:
    for kind, wanted in _ACTIONS_OF.items():
        if any(actions.get(action) for action in wanted):
            return kind
    return "updates"


def count_requests(
    events: QuerySet[AuditEvent], *, now: datetime | None = None
) -> dict[str, dict[str, int]]:
    """Per window ("24 hours", "7 days"): SCIM requests by kind. Requests are told apart by
    request id and actor (one admin request approving ten changes applies ten, each as
    "approver (approved change #N)"); an event without a request id counts on its own."""
    now = now or timezone.now()
    oldest = now - max(span for _, span in WINDOWS)
    events = events.filter(created_at__gte=oldest)
    counts = {label: Counter(dict.fromkeys(KINDS, 0)) for label, _ in WINDOWS}

    def add(kind: str, at: datetime) -> None:
        for label, span in WINDOWS:
            if at >= now - span:
                counts[label][kind] += 1

    flags = {
        action: Count("pk", filter=Q(action=action))
        for wanted in _ACTIONS_OF.values()
        for action in wanted
    }
    per_request = (
        events.exclude(request_id="")
        .order_by()
        .values("request_id", "actor_label")
        .annotate(at=Max("created_at"), **{f"n_{i}": agg for i, agg in enumerate(flags.values())})
    )
    names = list(flags)
    for row in per_request:
        actions = {names[i]: row[f"n_{i}"] for i in range(len(names))}
        add(_kind_of(actions), row["at"])
    for action, at in events.filter(request_id="").values_list("action", "created_at"):
        add(_kind_of({action: 1}), at)
    return {label: dict(counter) for label, counter in counts.items()}


def provisioning_status(company: Company, *, errors: int = 10) -> ProvisioningStatus:
    """What the SCIM Provisioning page shows: a handful of indexed queries, whatever the log."""
    scim_keys = [key for key in APIKey.objects.filter(company=company) if key.has_scope(Scope.SCIM)]
    usable = [key for key in scim_keys if key.is_usable]
    used = [key for key in scim_keys if key.last_used_at is not None]
    last_key = max(used, key=lambda key: key.last_used_at, default=None)  # type: ignore[arg-type,return-value]
    scim_events = AuditEvent.objects.filter(company=company, source=Source.SCIM)
    return ProvisioningStatus(
        enterprise=company.is_enterprise,
        usable_keys=usable,
        last_use=KeyUse(last_key, last_key.last_used_at, last_key.last_used_ip)
        if last_key is not None
        else None,
        last_change=scim_events.exclude(action__in=ERROR_ACTIONS)
        .order_by("-created_at", "-id")
        .first(),
        counts=count_requests(scim_events),
        recent_errors=list(
            scim_events.filter(action__in=ERROR_ACTIONS).order_by("-created_at", "-id")[:errors]
        ),
    )


def error_detail(event: AuditEvent) -> dict[str, Any]:
    """The refusal's status, operation and words, for the errors table."""
    after = event.after if isinstance(event.after, dict) else {}
    if event.action == REFUSED:
        return {
            "status": after.get("status"),
            "request": f"{after.get('method', '')} {after.get('path', '')}".strip(),
            "detail": after.get("detail", ""),
        }
    verb = "revoked" if event.action == "api_key.revoked_key_used" else "expired"
    return {
        "status": 401,
        "request": "",
        "detail": f"The identity provider used a {verb} API key ({event.actor_label}). "
        "Paste a current key into OneLogin as its SCIM Bearer Token.",
    }
