"""How long the audit log keeps its events: AUDIT_RETENTION_DAYS (default 400; 0 keeps them for
ever). Beat runs `accounts.tasks.apply_audit_retention` daily.

Older events are deleted in batches of RETENTION_BATCH_SIZE, each in its own short transaction
so that SCIM writes (each adds an event) never wait long behind it. With AUDIT_EXPORT_DIR set,
each batch is first appended to one export file of the run (CSV, or JSON Lines with
AUDIT_EXPORT_FORMAT=json) and flushed to disk before its rows are deleted: a failed export
deletes nothing. One `audit.retention_applied` event (no company: the operator's) records each
run that deleted anything.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit_csv
from accounts.audit import Actor, Source, SystemActor, record_audit
from accounts.models import AuditEvent

RETENTION_BATCH_SIZE = 5_000
RETENTION_ACTOR = SystemActor("audit retention")
EXPORT_FORMATS = ("csv", "json")


def kept_since(now: datetime | None = None) -> datetime | None:
    """The oldest time the log keeps events from, or None when it keeps them for ever."""
    days = int(settings.AUDIT_RETENTION_DAYS)
    if days <= 0:
        return None
    return (now or timezone.now()) - timedelta(days=days)


@dataclass
class _Export:
    path: Path
    file: IO[str]
    format: str

    @classmethod
    def open(cls, directory: str, fmt: str, cutoff: datetime) -> _Export:
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"AUDIT_EXPORT_FORMAT must be csv or json, not {fmt!r}.")
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        suffix = "csv" if fmt == "csv" else "jsonl"
        path = folder / f"audit-before-{cutoff:%Y-%m-%d}-exported-{stamp}.{suffix}"
        export = cls(path, path.open("x", encoding="utf-8", newline=""), fmt)
        if fmt == "csv":
            csv.writer(export.file).writerow(audit_csv.HEADER)
        return export

    def write(self, events: list[AuditEvent]) -> None:
        if self.format == "csv":
            csv.writer(self.file).writerows(audit_csv.row(event) for event in events)
        else:
            for event in events:
                self.file.write(json.dumps(_as_json(event), ensure_ascii=False) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())  # on disk before the rows it holds are deleted


def _as_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "time": event.created_at.isoformat(),
        "company_id": event.company_id,
        "action": event.action,
        "actor": event.actor_label,
        "actor_kind": event.actor_kind,
        "source": event.source,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target": event.target_label,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "client_ip": event.client_ip,
    }


def apply_audit_retention(
    *, actor: Actor = RETENTION_ACTOR, source: str = Source.TASK, now: datetime | None = None
) -> int:
    """Delete audit events older than AUDIT_RETENTION_DAYS, exporting them first when
    AUDIT_EXPORT_DIR is set; returns how many were deleted. Audits one
    `audit.retention_applied` event when any were. Raises what the export raises (a full disk,
    a bad AUDIT_EXPORT_FORMAT) with the batch not deleted; batches done before stay done."""
    cutoff = kept_since(now)
    if cutoff is None:
        return 0
    directory = getattr(settings, "AUDIT_EXPORT_DIR", None)
    export: _Export | None = None
    deleted = 0
    try:
        while True:
            with transaction.atomic():
                batch = list(
                    AuditEvent.objects.select_for_update(skip_locked=True)
                    .filter(created_at__lt=cutoff)
                    .order_by("id")[:RETENTION_BATCH_SIZE]
                )
                if not batch:
                    break
                if directory:
                    if export is None:
                        export = _Export.open(directory, settings.AUDIT_EXPORT_FORMAT, cutoff)
                    export.write(batch)
                AuditEvent.objects.filter(pk__in=[event.pk for event in batch]).delete()
                deleted += len(batch)
    finally:
        if export is not None:
            export.file.close()
        if deleted:
            record_audit(
                actor=actor,
                source=source,
                action="audit.retention_applied",
                company=None,
                after={
                    "deleted": deleted,
                    "older_than": cutoff.isoformat(),
                    "retention_days": int(settings.AUDIT_RETENTION_DAYS),
                    "exported_to": export.path.name if export is not None else None,
                },
            )
    return deleted
