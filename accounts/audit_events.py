"""Every audit event type, declared once with the words an admin reads.

Zulip's `AuditLogEventType` is the model: the code a service writes (`user.suspended`) is
declared here with its label ("User suspended") and how to summarise its before/after, and the
Audit log, a user's history, the SCIM Provisioning panel and the CSV export all read it from
here. A test scans the code for every action written and fails on one not declared here.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_VALUE = 80

# Field names as the pages call them; any other reads as its words ("office_name" → "Office name").
FIELD_LABELS = {
    "email": "Email",
    "given_name": "First name",
    "family_name": "Last name",
    "middle_name": "Middle name",
    "display_name": "Display name",
    "name_formatted": "Full name",
    "email_addresses": "Email addresses",
    "phone_numbers": "Phone numbers",
    "external_id": "External ID",
    "scim_user_name": "SCIM user name",
    "license_type": "License",
    "office_id": "Office",
    "office_name": "Office",
    "manager_id": "Manager",
    "work_phone": "Work phone",
    "is_approver": "Approver",
    "is_main": "Main office",
    "managed_by": "Managed by",
    "idp_entity_id": "Identity provider entity ID",
    "idp_sso_url": "Identity provider sign-in URL",
    "idp_slo_url": "Identity provider sign-out URL",
    "require_create": "Approve creates",
    "require_update": "Approve updates",
    "require_delete": "Approve deletes",
    "pending_change_ttl_days": "Expire after (days)",
    "expires_at": "Expires",
    "revoked_at": "Revoked",
}


def field_label(key: str) -> str:
    return FIELD_LABELS.get(key) or key.replace("_", " ").capitalize()


def value_text(value: Any) -> str:
    """A stored value as a person reads it: lists as lists, emails as emails, yes/no."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value)
    if isinstance(value, dict):
        # SCIM multi-valued entries: {"value": "ada@…", "type": "work", "primary": true}
        if "value" in value:
            text = value_text(value["value"])
            extras = [str(value[key]) for key in ("type",) if value.get(key)]
            if value.get("primary"):
                extras.append("primary")
            return f"{text} ({', '.join(extras)})" if extras else text
        return "; ".join(f"{field_label(str(k))}: {value_text(v)}" for k, v in value.items())
    text = str(value)
    if text[:2] in ("[{", "['", "{'"):
        # Rows written before JSON fields were kept as JSON hold Python's text of the list.
        try:
            return value_text(ast.literal_eval(text))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return text if len(text) <= MAX_VALUE else f"{text[: MAX_VALUE - 1]}…"


def describe_values(before: Any, after: Any) -> str:
    """Only what changed: `Last name: Smith → Smyth`; a creation lists what it set, a removal
    what was there; keys whose values did not change and empty values are left out."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    parts = []
    for key in dict.fromkeys([*after, *before]):
        old, new = before.get(key), after.get(key)
        if key in before and key in after:
            if old != new:
                parts.append(f"{field_label(key)}: {value_text(old)} → {value_text(new)}")
        elif key in after:
            if new not in (None, "", [], {}):
                parts.append(f"{field_label(key)}: {value_text(new)}")
        elif old not in (None, "", [], {}):
            parts.append(f"{field_label(key)} was {value_text(old)}")
    return "; ".join(parts)


Summary = Callable[[dict[str, Any], dict[str, Any]], str]


@dataclass(frozen=True)
class AuditEventType:
    code: str
    label: str
    # How the before/after reads; by default only what changed (describe_values).
    summarise: Summary | None = None

    def summary(self, before: Any, after: Any) -> str:
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        if self.summarise is not None:
            return self.summarise(before, after)
        return describe_values(before, after)


def _refused(before: dict[str, Any], after: dict[str, Any]) -> str:
    request = f"{after.get('method', '')} {after.get('path', '')}".strip()
    status = after.get("status")
    detail = value_text(after.get("detail"))
    return f"{status} for {request}: {detail}" if request else detail


def _status_only(before: dict[str, Any], after: dict[str, Any]) -> str:
    return ""  # the label says it all ("User suspended")


_TYPES = [
    # Company
    AuditEventType("company.created", "Company created"),
    AuditEventType("company.updated", "Company profile changed"),
    AuditEventType("company.domain_added", "Email domain added"),
    AuditEventType("company.domain_removed", "Email domain removed"),
    AuditEventType("company.domain_verified", "Email domain verified"),
    AuditEventType("company.domain_verification_lost", "Email domain verification lost"),
    AuditEventType("company.domain_record_missing", "Domain's DNS record missing"),
    AuditEventType("company.domain_claim_ended", "Email domain claim ended"),
    AuditEventType("license.seats_changed", "License seats changed"),
    AuditEventType("license.assigned", "License assigned"),
    AuditEventType("license.released", "License released"),
    # Users
    AuditEventType("user.created", "User created"),
    AuditEventType("user.reserved", "Reserved, awaiting approval"),
    AuditEventType("user.activated", "Active after approval", _status_only),
    AuditEventType("user.updated", "User updated"),
    AuditEventType("user.suspended", "User suspended", _status_only),
    AuditEventType("user.reactivated", "User reactivated", _status_only),
    AuditEventType("user.deleted", "User deleted"),
    AuditEventType("user.password_set", "Password set"),
    AuditEventType("user.role_changed", "Role changed"),
    AuditEventType("user.managed_by_changed", "Management changed"),
    AuditEventType("user.office_changed", "Moved to another office"),
    # Offices and numbers
    AuditEventType("office.created", "Office added"),
    AuditEventType("office.updated", "Office changed"),
    AuditEventType("office.deleted", "Office deleted"),
    AuditEventType("office.main_changed", "Main office changed"),
    AuditEventType("number.added", "Phone number added"),
    AuditEventType("number.assigned", "Phone number assigned"),
    AuditEventType("number.released", "Phone number released"),
    AuditEventType("number.moved", "Phone number moved"),
    AuditEventType("number.removed", "Phone number removed"),
    AuditEventType("number.none_free", "No free phone number"),
    AuditEventType("numbers.imported", "Phone numbers imported"),
    # API keys
    AuditEventType("api_key.created", "API key added"),
    AuditEventType("api_key.revoked", "API key revoked"),
    AuditEventType("api_key.throttled", "API key requests throttled"),
    AuditEventType("api_key.revoked_key_used", "Revoked API key used"),
    AuditEventType("api_key.expired_key_used", "Expired API key used"),
    # Approvals
    AuditEventType("provisioning.policy_changed", "Approval policy changed"),
    AuditEventType("provisioning.change_queued", "Change queued for approval"),
    AuditEventType("provisioning.change_approved", "Change approved"),
    AuditEventType("provisioning.change_rejected", "Change rejected"),
    AuditEventType("provisioning.change_expired", "Change expired"),
    AuditEventType("provisioning.change_applied", "Approved change applied"),
    AuditEventType("provisioning.change_failed", "Approved change failed"),
    AuditEventType("provisioning.change_retried", "Failed change retried"),
    AuditEventType("scim.request_refused", "SCIM request refused", _refused),
    # Sign-in and SSO
    AuditEventType("auth.sign_in.sso", "Signed in with SSO"),
    AuditEventType("auth.sign_in.password", "Signed in with a password"),
    AuditEventType("auth.sign_in.break_glass", "Signed in with a password (SSO bypass)"),
    AuditEventType("auth.sign_in_refused", "Sign-in refused"),
    AuditEventType("auth.sign_out", "Signed out"),
    AuditEventType("auth.sign_out_unverified", "Unverified sign-out request"),
    AuditEventType("auth.login_throttled", "Sign-ins throttled"),
    AuditEventType("auth.sso_throttled", "SSO sign-ins throttled"),
    AuditEventType("sso.configured", "SAML SSO configured"),
    AuditEventType("sso.settings_changed", "SAML SSO settings changed"),
    AuditEventType("sso.password_sessions_ended", "Password sessions ended by Enforce SSO"),
    AuditEventType("sso.test_sign_in", "SAML SSO test sign-in"),
    AuditEventType("audit.retention_applied", "Old audit events deleted"),
]

EVENT_TYPES: dict[str, AuditEventType] = {event_type.code: event_type for event_type in _TYPES}
if len(EVENT_TYPES) != len(_TYPES):  # pragma: no cover - a duplicate is a programming error
    raise ValueError("An audit event type is declared twice.")


def event_type(code: str) -> AuditEventType:
    """The declared type; an undeclared code (an old row) still reads as words."""
    return EVENT_TYPES.get(code) or AuditEventType(code, code.replace("_", " ").replace(".", ": "))


def label(code: str) -> str:
    return event_type(code).label


def choices() -> list[tuple[str, str]]:
    """(code, label) for filters, sorted by label."""
    return sorted(((t.code, t.label) for t in _TYPES), key=lambda choice: choice[1])
