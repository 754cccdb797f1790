"""Resources as SCIM JSON: a User from its row (UserRow: one query, selectors.py, or the user a
write holds), a Group from its office and members. Unassigned attributes (null, "", empty) are
left out (RFC 7643 §2.5). Pure: no query, no request."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from accounts.models import User, UserStatus, all_emails
from provisioning.scim import schema as s


def isoformat(moment: datetime) -> str:
    """ISO 8601, UTC as Z: `moment.isoformat()` with "+00:00" → "Z", by orjson's formatter (the
    same text, in a third of the time; a page shows 200 to 400)."""
    return orjson.dumps(moment, option=orjson.OPT_UTC_Z)[1:-1].decode()


class UserRow(NamedTuple):
    """Everything a SCIM User body shows: the user's own columns (USER_ROW_FIELDS), then its
    office's name, work number, manager's name and count of changes waiting for an approver.
    Read in one query by selectors.user_rows, or taken from a loaded user (user_row).
    """

    id: int
    scim_user_name: str | None
    email: str
    name_formatted: str
    given_name: str
    family_name: str
    middle_name: str
    display_name: str
    nick_name: str
    title: str
    user_type: str
    preferred_language: str
    locale: str
    timezone: str
    status: str
    email_addresses: list[dict[str, Any]]
    phone_numbers: list[dict[str, Any]] | None
    employee_number: str
    cost_center: str
    organization: str
    division: str
    department: str
    license_type: str
    external_id: str | None
    manager_id: int | None
    office_id: int | None
    preferred_area_code: str | None
    created_at: datetime
    updated_at: datetime
    office_name: str | None
    work_number: str | None
    manager_given_name: str | None
    manager_family_name: str | None
    manager_email: str | None
    pending_changes: int


USER_ROW_FIELDS = UserRow._fields[: UserRow._fields.index("office_name")]


def user_row(user: User, pending_changes: int) -> UserRow:
    """The row of a user loaded with its office, number and manager (selectors.user_to_write)."""
    office = user.office if user.office_id is not None else None
    number = getattr(user, "phone_number", None)
    manager = user.manager if user.manager_id is not None else None
    return UserRow._make(
        [
            *(getattr(user, name) for name in USER_ROW_FIELDS),
            office.name if office is not None else None,
            number.number if number is not None else None,
            manager.given_name if manager is not None else None,
            manager.family_name if manager is not None else None,
            manager.email if manager is not None else None,
            pending_changes,
        ]
    )


def shown_phone_numbers(
    written: list[dict[str, Any]] | None, work_number: str | None
) -> list[dict[str, Any]]:
    """phoneNumbers read back exactly as the identity provider wrote them; until it writes any,
    the assigned number as the work one."""
    if written is not None:
        return [dict(item) for item in written]
    if work_number is None:
        return []
    return [{"value": work_number, "type": "work", "primary": True}]


def as_written(body: dict[str, Any], user: User) -> dict[str, Any]:
    """A rendered user as its identity provider wrote it, what PATCH applies to: phoneNumbers
    are only the written ones (the assigned number shown by default is not one of them)."""
    written = {k: v for k, v in body.items() if k != "phoneNumbers"}
    if user.phone_numbers is not None:
        written["phoneNumbers"] = shown_phone_numbers(user.phone_numbers, None)
    return written


def render_user(user: UserRow, base_url: str) -> dict[str, Any]:
    """The SCIM User body. Written out part by part, `if value` for "assigned" (a row's strings
    are str or None): a list page renders up to 200 of these."""
    body: dict[str, Any] = {
        "schemas": [s.CORE_USER, s.ENTERPRISE_USER, s.SWITCHBOARD_USER],
        "id": str(user.id),
        "userName": user.scim_user_name or user.email,
    }
    name = _name(user)
    if name:
        body["name"] = name
    for key, field in _PROFILE:
        value = getattr(user, field)
        if value:
            body[key] = value
    body["active"] = user.status == UserStatus.ACTIVE
    body["emails"] = [_assigned(email) for email in all_emails(user.email, user.email_addresses)]
    phone_numbers = shown_phone_numbers(user.phone_numbers, user.work_number)
    if phone_numbers:
        body["phoneNumbers"] = phone_numbers
    if user.office_id is not None:
        body["groups"] = [_group_of(user, base_url)]
    enterprise = _enterprise(user, base_url)
    if enterprise:
        body[s.ENTERPRISE_USER] = enterprise
    body[s.SWITCHBOARD_USER] = _switchboard(user)
    if user.external_id:
        body["externalId"] = user.external_id
    body["meta"] = {
        "resourceType": "User",
        "created": isoformat(user.created_at),
        "lastModified": isoformat(user.updated_at),
        "location": f"{base_url}/Users/{user.id}",
    }
    return body


# The core User's plain strings, in the order a body shows them: (attribute, UserRow field).
_PROFILE = (
    ("displayName", "display_name"),
    ("nickName", "nick_name"),
    ("title", "title"),
    ("userType", "user_type"),
    ("preferredLanguage", "preferred_language"),
    ("locale", "locale"),
    ("timezone", "timezone"),
)
_ENTERPRISE = (
    ("employeeNumber", "employee_number"),
    ("costCenter", "cost_center"),
    ("organization", "organization"),
    ("division", "division"),
    ("department", "department"),
)
_SWITCHBOARD = (
    ("licenseType", "license_type"),
    ("officeName", "office_name"),
    ("areaCode", "preferred_area_code"),
    ("phoneNumber", "work_number"),
    ("pendingChanges", "pending_changes"),
)


def _name(user: UserRow) -> dict[str, Any]:
    name = {}
    formatted = user.name_formatted or _full_name(user.given_name, user.family_name)
    if formatted:
        name["formatted"] = formatted
    if user.family_name:
        name["familyName"] = user.family_name
    if user.given_name:
        name["givenName"] = user.given_name
    if user.middle_name:
        name["middleName"] = user.middle_name
    return name


def _group_of(user: UserRow, base_url: str) -> dict[str, Any]:
    group = {"value": str(user.office_id), "$ref": f"{base_url}/Groups/{user.office_id}"}
    if user.office_name:
        group["display"] = user.office_name
    group["type"] = "direct"
    return group


def _enterprise(user: UserRow, base_url: str) -> dict[str, Any]:
    enterprise: dict[str, Any] = {}
    for key, field in _ENTERPRISE:
        value = getattr(user, field)
        if value:
            enterprise[key] = value
    if user.manager_id:
        enterprise["manager"] = {
            "value": str(user.manager_id),
            "$ref": f"{base_url}/Users/{user.manager_id}",
            "displayName": _full_name(user.manager_given_name, user.manager_family_name)
            or user.manager_email,
        }
    return enterprise


def _switchboard(user: UserRow) -> dict[str, Any]:
    switchboard: dict[str, Any] = {}
    for key, field in _SWITCHBOARD:
        value = getattr(user, field)
        if value:
            switchboard[key] = value
    return switchboard


def _full_name(given_name: str | None, family_name: str | None) -> str:
    """User.full_name, from the two columns."""
    return " ".join(part for part in (given_name, family_name) if part)


def render_group(office: Any, members: Iterable[User], base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [s.CORE_GROUP],
        "id": str(office.pk),
        "displayName": office.name,
        "members": [
            {
                "value": str(member.pk),
                "$ref": f"{base_url}/Users/{member.pk}",
                "display": member.display_name or member.full_name or member.email,
                "type": "User",
            }
            for member in members
        ],
        "meta": {
            "resourceType": "Group",
            "created": isoformat(office.created_at),
            "lastModified": isoformat(office.updated_at),
            "location": f"{base_url}/Groups/{office.pk}",
        },
    }
    if not body["members"]:
        del body["members"]  # RFC 7643 §2.5: an empty multi-valued attribute is unassigned
    if office.external_id:
        body["externalId"] = office.external_id
    return body


def _assigned(attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes that have a value: null and "" are unassigned (RFC 7643 §2.5)."""
    return {key: value for key, value in attributes.items() if value is not None and value != ""}
