"""Audit events as people read them: "family_name: Smith → Smyth"."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditEvent

MAX_VALUE = 80


def _value(value: Any) -> str:
    if value in (None, ""):
        return "—"
    text = str(value)
    return text if len(text) <= MAX_VALUE else f"{text[: MAX_VALUE - 1]}…"


def describe_change(event: AuditEvent) -> str:
    """One line per changed key: `key: old → new`; creations and removals list their values."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    parts = []
    for key in dict.fromkeys([*after, *before]):
        if key in before and key in after:
            parts.append(f"{key}: {_value(before[key])} → {_value(after[key])}")
        elif key in after:
            parts.append(f"{key}: {_value(after[key])}")
        else:
            parts.append(f"{key} was {_value(before[key])}")
    return "; ".join(parts)
