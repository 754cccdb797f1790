"""The audit log's one writer. Services call `record_audit()` inside their own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.db import models

from accounts.models import AuditEvent, Company, User
from config.request_context import current_request_id


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


def _event(
    *,
    actor: Actor,
    source: str,
    action: str,
    company: Company | None,
    target: models.Model | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    client_ip: str | None = None,
) -> AuditEvent:
    kind, user, label = actor.audit_identity()
    if client_ip is None and isinstance(actor, ClientActor):
        client_ip = actor.ip
    return AuditEvent(
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
    event = _event(
        actor=actor,
        source=source,
        action=action,
        company=company,
        target=target,
        before=before,
        after=after,
        client_ip=client_ip,
    )
    event.save()
    return event


def record_audits(
    *,
    actor: Actor,
    source: str,
    action: str,
    company: Company | None,
    changes: list[tuple[models.Model, dict[str, Any] | None, dict[str, Any] | None]],
) -> list[AuditEvent]:
    """One event per (target, before, after), as `record_audit` writes it, in one INSERT: a
    bulk action audits every row it changed without a round trip per row."""
    return AuditEvent.objects.bulk_create(
        _event(
            actor=actor,
            source=source,
            action=action,
            company=company,
            target=target,
            before=before,
            after=after,
        )
        for target, before, after in changes
    )


def snapshot(instance: models.Model, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The audited view of a row: the named fields as JSON-safe values (FKs as ids)."""
    values: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        value = getattr(instance, getattr(field, "attname", name))
        values[name] = (
            value if value is None or isinstance(value, bool | int | float) else str(value)
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
