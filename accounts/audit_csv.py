"""The audit log as CSV, one row at a time (a long log never sits in memory)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from accounts.audit_display import describe_change, event_label
from accounts.models import AuditEvent

HEADER = (
    "time (UTC)",
    "action",
    "actor",
    "actor kind",
    "source",
    "target type",
    "target id",
    "target",
    "before",
    "after",
    "request id",
    "client ip",
    "event",
    "change",
)
# A cell a spreadsheet would run as a formula (CSV injection): quote it as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """csv.writer wants a file; this one hands back what was written."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def row(event: AuditEvent) -> list[str]:
    return [
        _cell(value)
        for value in (
            event.created_at.isoformat(),
            event.action,
            event.actor_label,
            event.actor_kind,
            event.source,
            event.target_type,
            event.target_id,
            event.target_label,
            event.before,
            event.after,
            event.request_id,
            event.client_ip,
            event_label(event),
            describe_change(event),
        )
    ]


def rows(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER)
    for event in events:
        yield writer.writerow(row(event))
