"""A queued change as an approver reads it: field, value now, value after."""

from __future__ import annotations

from typing import Any

from accounts import audit_events
from accounts.models import LicenseType, User
from approvals.models import ChangeStatus, Operation, PendingChange
from approvals.services import user_state

LABELS = {
    "email": "Email",
    "scim_user_name": "SCIM userName",
    "external_id": "External id",
    "given_name": "First name",
    "middle_name": "Middle name",
    "family_name": "Last name",
    "display_name": "Display name",
    "nick_name": "Nickname",
    "title": "Title",
    "department": "Department",
    "division": "Division",
    "organization": "Organization",
    "cost_center": "Cost center",
    "employee_number": "Employee number",
    "user_type": "User type",
    "preferred_language": "Preferred language",
    "locale": "Locale",
    "timezone": "Time zone",
    "active": "Active",
    "status": "Status",
    "license_type": "License",
    "office_name": "Office",
    "area_code": "Area code",
    "work_phone": "Work phone",
    "phone_numbers": "Phone numbers",
    "manager_id": "Manager",
}


def show(key: str, value: Any, company_id: int | None = None) -> str:
    """One value as text an approver reads: no JSON, no internal codes."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key == "license_type" and value in LicenseType.values:
        return str(LicenseType(value).label)
    if key == "phone_numbers" and isinstance(value, list):
        return ", ".join(
            f"{item.get('value', '')} ({item.get('type') or 'other'})"
            if isinstance(item, dict)
            else str(item)
            for item in value
        )
    if key == "manager_id":
        manager = User.objects.filter(company=company_id or 0, pk=value).first()
        return manager.email if manager is not None else f"unknown user {value}"
    # Lists as lists, SCIM entries ({"value": …, "primary": true}) as their values.
    return audit_events.value_text(value)


def change_rows(change: PendingChange) -> list[dict[str, Any]]:
    """Rows of (label, before, after, changed) for the detail page.

    Before is the user as they are now while the change waits, or as they were just before it
    applied (recorded then). A create compares with nothing; a delete shows what goes away.
    """
    done = change.status in (ChangeStatus.APPLIED, ChangeStatus.FAILED) and change.before
    current = change.before if done else user_state(change.user)
    current = current or {}
    rows: list[dict[str, Any]] = []
    if change.operation == Operation.DELETE:
        for key, value in current.items():
            if value in (None, "", []) or key not in LABELS:
                continue
            rows.append(
                {
                    "label": LABELS[key],
                    "before": show(key, value, change.company_id),
                    "after": "deleted",
                    "changed": True,
                }
            )
        return rows
    for key, value in change.changes.items():
        before = (
            "—"
            if change.operation == Operation.CREATE
            else show(key, current.get(key), change.company_id)
        )
        after = show(key, value, change.company_id)
        rows.append(
            {
                "label": LABELS.get(key) or audit_events.field_label(key),
                "before": before,
                "after": after,
                "changed": before != after,
            }
        )
    return rows
