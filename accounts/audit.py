"""The audit log's one writer. Services call `record_audit()` inside their own transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import models

from accounts.models import AuditEvent, Company, User
from core.request_context import current_client_ip, current_request_id, valid_ip


class Actor(Protocol):
    """Anything that can change domain state: a user, an API key, the system, a client IP."""

    def audit_identity(self) -> tuple[str, User | None, str]:
        """(kind, the user if one acted, a human label)."""
        ...


@dataclass(frozen=True)
class SystemActor:
    """Work nobody asked for in the moment: periodic tasks, data migrations, CLI automation."""

    label: str = "system"

    def audit_identity(self) -> tuple[str, User | None, str]:
        return ("system", None, self.label)


@dataclass(frozen=True)
class ClientActor:
    """An unauthenticated client, known only by its address (failed sign-ins, throttling)."""

    ip: str

    def audit_identity(self) -> tuple[str, User | None, str]:
        return ("client", None, self.ip)


SYSTEM = SystemActor()


class Source(models.TextChoices):
    ADMIN = "admin", "Admin Settings"
    SCIM = "scim", "SCIM"
    SSO = "sso", "SAML SSO"
    API = "api", "REST API"
    CLI = "cli", "Command line"
    TASK = "task", "Background task"
    SYSTEM = "system", "System"


def record_audit(
    *,
    actor: Actor,
    source: str,
    action: str,
    company: Company | None,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    client_ip: str | None = None,
) -> AuditEvent:
    kind, user, label = actor.audit_identity()
    if client_ip is None:
        # A client actor names its address; else the request's client (an admin, an API key).
        client_ip = actor.ip if isinstance(actor, ClientActor) else current_client_ip.get()()
    client_ip = valid_ip(client_ip) if client_ip else None  # a column of addresses only
    event = AuditEvent(
        company=company,
        action=action,
        actor_kind=kind,
        actor_user=user,
        actor_label=label[:300],
        source=source,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:300] if target is not None else "",
        request_id=current_request_id.get(),
        client_ip=client_ip,
        before=before,
        after=after,
    )
    batch = _batch.get()
    if batch is None:
        event.save()
    else:
        batch.append(event)
    return event


# The events of the innermost open audit_batch(), or None outside one.
_batch: ContextVar[list[AuditEvent] | None] = ContextVar("audit_batch", default=None)


@contextmanager
def audit_batch() -> Iterator[list[AuditEvent]]:
    """Write the events recorded inside in one INSERT when the block ends without an error.

    For a change made of several audited steps: open it inside the change's transaction, so the
    events are written with the change or not at all. Within an outer batch, the events go to
    that one (again only if the block ends without an error). Events recorded inside have no id
    until they are written. A step inside whose error is caught and rolled back (a savepoint)
    needs a batch of its own, or its events would be written with the rest. The block may read
    and amend the events it recorded (yielded) before they are written.
    """
    outer = _batch.get()
    events: list[AuditEvent] = []
    token = _batch.set(events)
    try:
        yield events
    finally:
        _batch.reset(token)
    if outer is not None:
        outer.extend(events)
    else:
        AuditEvent.objects.bulk_create(events)


def snapshot(instance: models.Model, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The audited view of a row: the named fields as JSON-safe values (FKs as ids; JSON
    fields' lists and objects as they are)."""
    values: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        value = getattr(instance, getattr(field, "attname", name))
        values[name] = (
            value
            if value is None or isinstance(value, bool | int | float | list | dict)
            else str(value)
        )
    return values


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, for before/after pairs that read as a diff."""
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def record_change(
    *,
    actor: Actor,
    source: str,
    action: str,
    company: Company | None,
    target: models.Model,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEvent | None:
    """Audit an update as a diff of two snapshots; nothing changed, nothing recorded."""
    old, new = changed(before, after)
    if not new:
        return None
    return record_audit(
        actor=actor,
        source=source,
        action=action,
        company=company,
        target=target,
        before=old,
        after=new,
    )
