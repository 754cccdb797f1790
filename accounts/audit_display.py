"""Audit events as people read them: "Last name: Smith → Smyth", in the registry's words."""

from __future__ import annotations

from accounts.audit_events import event_type
from accounts.models import AuditEvent


def describe_change(event: AuditEvent) -> str:
    """What the event changed, as its declared type summarises it (only what changed)."""
    return event_type(event.action).summary(event.before, event.after)


def event_label(event: AuditEvent) -> str:
    return event_type(event.action).label
