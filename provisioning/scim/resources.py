"""Users and Groups (offices) as SCIM resources: render, read a body into a user change, and the
filter/sort maps. No writes here: views hand the parsed change to provisioning.services."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce, Lower
from django.utils.dateparse import parse_datetime

from accounts.models import (
    Company,
    User,
    UserEmail,
    UserPhoneNumber,
    UserStatus,
    all_emails,
    lowered_by_database,
)
from offices.models import PhoneNumber
from provisioning.scim import schema as s
from provisioning.scim.errors import invalid_filter, invalid_value
from provisioning.scim.filters import (
    Q_FALSE,
    Q_TRUE,
    AttributeMap,
    AttrRef,
    Builder,
    MultiValued,
    Related,
    Rows,
    Target,
)

# --- filter builders ---


def _string(field: str, *, case_exact: bool = False, nullable: bool = False) -> Builder:
    def build(op: str, value: Any) -> Q:
        if op == "pr":
            return ~Q(**{f"{field}__isnull": True}) & ~Q(**{field: ""})
        if value is None:
            if op == "eq":
                return ~build("pr", None)
            if op == "ne":
                return build("pr", None)
            raise invalid_filter(f"'{op} null' is not a comparison; use eq, ne or pr.")
        if not isinstance(value, str):
            raise invalid_filter(f"Compare this attribute with a quoted string, not {value}.")
        target, text = (
            (field, value) if case_exact else (f"{field}__lower", lowered_by_database(value))
        )
        lookups = {
            "eq": "",
            "ne": "",
            "co": "__contains",
            "sw": "__startswith",
            "ew": "__endswith",
            "gt": "__gt",
            "ge": "__gte",
            "lt": "__lt",
            "le": "__lte",
        }
        condition = Q(**{f"{target}{lookups[op]}": text})
        if op == "ne":
            return ~condition
        return condition

    return build


def _user_name(op: str, value: Any) -> Q:
    # userName is the SCIM userName, else (users created by hand) the sign-in email: an IdP's
    # first sync finds existing people by `userName eq` instead of failing on a taken email.
    with_name = _string("scim_user_name")(op, value)
    by_email = _string("email")(op, value)
    if op == "ne":
        return (Q(scim_user_name__isnull=False) & with_name) | (
            Q(scim_user_name__isnull=True) & by_email
        )
    return with_name | (Q(scim_user_name__isnull=True) & by_email)


def _lowered(field: str) -> Builder:
    """A caseExact:false string stored lower-cased: compared as is, so its index serves."""
    exact = _string(field, case_exact=True)

    def build(op: str, value: Any) -> Q:
        return exact(op, value.lower() if isinstance(value, str) else value)

    return build


# An id as we write it: str(pk), ASCII digits without sign or leading zero, within bigint.
_ID = re.compile(r"[1-9][0-9]{0,18}")


def resource_pk(value: Any) -> int | None:
    """The primary key an id names, or None. Ids are strings compared exactly (RFC 7643
    §3.1): '+5', '05', ' 5' or '٥', all 5 to int(), name no resource."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    pk = int(value)
    return pk if pk < 2**63 else None


def _identifier(field: str) -> Builder:
    def build(op: str, value: Any) -> Q:
        if op == "pr":
            return Q_TRUE
        if op not in {"eq", "ne"}:
            raise invalid_filter("Ids can only be compared with eq, ne or pr.")
        pk = resource_pk(value)
        condition = Q_FALSE if pk is None else Q(**{field: pk})
        return ~condition if op == "ne" else condition

    return build


def _constant(constant: Any) -> Builder:
    """A sub-attribute with one value for every element (our one email is the primary one)."""

    def build(op: str, value: Any) -> Q:
        if op == "pr":
            return Q_TRUE
        if op not in {"eq", "ne"}:
            raise invalid_filter(f"This attribute can only be compared with eq or ne ({op}).")
        compare = value.lower() if isinstance(value, str) else value
        expected = constant.lower() if isinstance(constant, str) else constant
        return Q_TRUE if (compare == expected) == (op == "eq") else Q_FALSE

    return build


def _flag(field: str) -> Builder:
    def build(op: str, value: Any) -> Q:
        if op == "pr":
            return Q_TRUE
        flag = _boolean_or_none(value)
        if op not in {"eq", "ne"} or flag is None:
            raise invalid_filter("Compare a boolean with eq or ne and true or false, or pr.")
        return Q(**{field: flag == (op == "eq")})

    return build


def _active(op: str, value: Any) -> Q:
    if op == "pr":
        return Q_TRUE
    if op not in {"eq", "ne"}:
        raise invalid_filter("Booleans can only be compared with eq, ne or pr.")
    flag = _boolean_or_none(value)
    if flag is None:
        raise invalid_filter("Compare active with true or false.")
    condition = Q(status=UserStatus.ACTIVE)
    return condition if flag == (op == "eq") else ~condition


def _datetime(field: str) -> Builder:
    def build(op: str, value: Any) -> Q:
        if op == "pr":
            return Q_TRUE
        if op not in {"eq", "ne", "gt", "ge", "lt", "le"}:
            raise invalid_filter("Dates compare with eq, ne, gt, ge, lt, le or pr.")
        try:
            moment = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # well formed, but no such date or time ("2024-02-30T10:00:00Z")
            moment = None
        if moment is None or moment.tzinfo is None:
            raise invalid_filter(
                f"'{str(value)[:40]}' is not a date-time like 2024-05-01T12:00:00Z."
            )
        if op == "ne":
            return ~Q(**{field: moment})
        suffix = {"eq": "", "gt": "__gt", "ge": "__gte", "lt": "__lt", "le": "__lte"}[op]
        return Q(**{f"{field}{suffix}": moment})

    return build


def _boolean_or_none(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


# A row of accounts.UserEmail or UserPhoneNumber: one value as the client wrote it.
_SEARCHED_VALUE: dict[str, Builder] = {
    "value": _lowered("value_lower"),
    "type": _string("type"),
    "primary": _flag("primary"),
}

USER_FILTERS: AttributeMap = {
    "id": _identifier("pk"),
    "externalid": _string("external_id", case_exact=True),
    "username": _user_name,
    "name.givenname": _string("given_name"),
    "name.familyname": _string("family_name"),
    "name.middlename": _string("middle_name"),
    "displayname": _string("display_name"),
    "nickname": _string("nick_name"),
    "title": _string("title"),
    "usertype": _string("user_type"),
    "preferredlanguage": _string("preferred_language"),
    "locale": _string("locale"),
    "timezone": _string("timezone"),
    "active": _active,
    # Every email of the user, the sign-in one included (accounts.UserEmail).
    "emails": Related((Rows(UserEmail.objects.all(), "user", _SEARCHED_VALUE),)),
    # What GET shows: the numbers the client wrote (accounts.UserPhoneNumber: users who wrote
    # none have no rows), else the assigned number as the primary work one.
    "phonenumbers": Related(
        (
            Rows(UserPhoneNumber.objects.all(), "user", _SEARCHED_VALUE),
            Rows(
                PhoneNumber.objects.filter(
                    assigned_user__isnull=False, assigned_user__phone_numbers__isnull=True
                ),
                "assigned_user",
                {
                    "value": _lowered("number"),  # E.164: as written, whatever the case
                    "type": _constant("work"),
                    "primary": _constant(True),
                },
            ),
        )
    ),
    "groups": MultiValued(
        (
            {
                "value": _identifier("office_id"),
                "display": _string("office__name"),
                "type": _constant("direct"),
            },
        )
    ),
    "meta.created": _datetime("created_at"),
    "meta.lastmodified": _datetime("updated_at"),
    "meta.resourcetype": _constant("User"),
    f"{s.ENTERPRISE_USER}:employeenumber".lower(): _string("employee_number"),
    f"{s.ENTERPRISE_USER}:costcenter".lower(): _string("cost_center"),
    f"{s.ENTERPRISE_USER}:organization".lower(): _string("organization"),
    f"{s.ENTERPRISE_USER}:division".lower(): _string("division"),
    f"{s.ENTERPRISE_USER}:department".lower(): _string("department"),
    f"{s.ENTERPRISE_USER}:manager.value".lower(): _identifier("manager_id"),
    f"{s.ENTERPRISE_USER}:manager".lower(): _identifier("manager_id"),
    f"{s.SWITCHBOARD_USER}:licensetype".lower(): _string("license_type", case_exact=True),
    f"{s.SWITCHBOARD_USER}:officename".lower(): _string("office__name"),
    f"{s.SWITCHBOARD_USER}:areacode".lower(): _string("preferred_area_code", case_exact=True),
    f"{s.SWITCHBOARD_USER}:phonenumber".lower(): _string("phone_number__number", case_exact=True),
}

GROUP_FILTERS: AttributeMap = {
    "id": _identifier("pk"),
    "externalid": _string("external_id", case_exact=True),
    "displayname": _string("name"),
    "members": MultiValued(
        (
            {
                "value": _identifier("users__pk"),
                "display": _string("users__email"),
                "type": _constant("User"),
            },
        )
    ),
    "meta.created": _datetime("created_at"),
    "meta.lastmodified": _datetime("updated_at"),
    "meta.resourcetype": _constant("Group"),
}


def resolver(resource_type: s.ResourceType, filters: AttributeMap) -> Any:
    """Map an attribute reference (any case, with or without URN) to its filter builder."""

    def resolve(attr: AttrRef) -> Target | None:
        found = resource_type.resolve(attr.urn, attr.name)
        if found is None:
            return None
        schema, attribute = found
        key = attribute.name.lower()
        if attr.sub:
            key = f"{key}.{attr.sub.lower()}"
        if schema.id != resource_type.schema.id:
            key = f"{schema.id}:{key}".lower()
        target = filters.get(key)
        if target is None and attr.sub and attribute.multi_valued:
            return filters.get(attribute.name.lower()) if key not in filters else None
        if target is None:
            if attribute.sub_attributes and not attr.sub:
                raise invalid_filter(f"'{attr}' is complex: filter on a sub-attribute of it.")
            raise invalid_filter(f"The attribute '{attr}' cannot be used in a filter.")
        return target

    return resolve


USER_SORT: dict[str, Any] = {
    "id": F("pk"),
    "externalid": F("external_id"),
    "username": Lower(Coalesce("scim_user_name", "email")),
    "name.givenname": Lower("given_name"),
    "name.familyname": Lower("family_name"),
    "displayname": Lower("display_name"),
    "title": Lower("title"),
    "emails": Lower("email"),
    "emails.value": Lower("email"),
    "active": F("status"),
    "meta.created": F("created_at"),
    "meta.lastmodified": F("updated_at"),
}
GROUP_SORT: dict[str, Any] = {
    "id": F("pk"),
    "externalid": F("external_id"),
    "displayname": Lower("name"),
    "meta.created": F("created_at"),
    "meta.lastmodified": F("updated_at"),
}


def sort_expression(resource_type: s.ResourceType, sort_by: str, table: dict[str, Any]) -> Any:
    from provisioning.scim.filters import parse_path

    path = parse_path(sort_by)
    found = resource_type.resolve(path.attr.urn, path.attr.name) if not path.filter else None
    if found is not None:
        key = found[1].name.lower() + (f".{path.attr.sub.lower()}" if path.attr.sub else "")
        if key in table:
            return table[key]
    raise invalid_value(f"Results cannot be sorted by '{sort_by[:60]}'.")


# --- rendering ---


def isoformat(moment: datetime) -> str:
    """ISO 8601, UTC as Z: `moment.isoformat()` with "+00:00" → "Z", by orjson's formatter (the
    same text, in a third of the time; a page shows 200 to 400)."""
    return orjson.dumps(moment, option=orjson.OPT_UTC_Z)[1:-1].decode()


def user_queryset(company: Company) -> QuerySet[User]:
    return User.objects.filter(company=company).select_related("manager", "office", "phone_number")


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
    """The row of a user loaded with user_queryset (its office, number and manager joined)."""
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
    """The SCIM User body; unassigned attributes (null, "", empty) are left out (RFC 7643 §2.5).

    Written out attribute by attribute, `if value` for "assigned" (a row's strings are str or
    None, so that is `_assigned`'s test): a list page renders up to 200 of these.
    """
    body: dict[str, Any] = {
        "schemas": [s.CORE_USER, s.ENTERPRISE_USER, s.SWITCHBOARD_USER],
        "id": str(user.id),
        "userName": user.scim_user_name or user.email,
    }
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
    if name:
        body["name"] = name
    if user.display_name:
        body["displayName"] = user.display_name
    if user.nick_name:
        body["nickName"] = user.nick_name
    if user.title:
        body["title"] = user.title
    if user.user_type:
        body["userType"] = user.user_type
    if user.preferred_language:
        body["preferredLanguage"] = user.preferred_language
    if user.locale:
        body["locale"] = user.locale
    if user.timezone:
        body["timezone"] = user.timezone
    body["active"] = user.status == UserStatus.ACTIVE
    body["emails"] = [_assigned(email) for email in all_emails(user.email, user.email_addresses)]
    phone_numbers = shown_phone_numbers(user.phone_numbers, user.work_number)
    if phone_numbers:
        body["phoneNumbers"] = phone_numbers
    if user.office_id is not None:
        group = {"value": str(user.office_id), "$ref": f"{base_url}/Groups/{user.office_id}"}
        if user.office_name:
            group["display"] = user.office_name
        group["type"] = "direct"
        body["groups"] = [group]
    enterprise: dict[str, Any] = {}
    if user.employee_number:
        enterprise["employeeNumber"] = user.employee_number
    if user.cost_center:
        enterprise["costCenter"] = user.cost_center
    if user.organization:
        enterprise["organization"] = user.organization
    if user.division:
        enterprise["division"] = user.division
    if user.department:
        enterprise["department"] = user.department
    if user.manager_id:
        enterprise["manager"] = {
            "value": str(user.manager_id),
            "$ref": f"{base_url}/Users/{user.manager_id}",
            "displayName": _full_name(user.manager_given_name, user.manager_family_name)
            or user.manager_email,
        }
    if enterprise:
        body[s.ENTERPRISE_USER] = enterprise
    switchboard: dict[str, Any] = {}
    if user.license_type:
        switchboard["licenseType"] = user.license_type
    if user.office_name:
        switchboard["officeName"] = user.office_name
    if user.preferred_area_code:
        switchboard["areaCode"] = user.preferred_area_code
    if user.work_number:
        switchboard["phoneNumber"] = user.work_number
    if user.pending_changes:
        switchboard["pendingChanges"] = user.pending_changes
    body[s.SWITCHBOARD_USER] = switchboard
    if user.external_id:
        body["externalId"] = user.external_id
    body["meta"] = {
        "resourceType": "User",
        "created": isoformat(user.created_at),
        "lastModified": isoformat(user.updated_at),
        "location": f"{base_url}/Users/{user.id}",
    }
    return body


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


# --- reading a body into a user change ---

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_STRING_FIELDS = {
    "displayName": "display_name",
    "nickName": "nick_name",
    "title": "title",
    "userType": "user_type",
    "preferredLanguage": "preferred_language",
    "locale": "locale",
    "timezone": "timezone",
}
_NAME_FIELDS = {"givenName": "given_name", "familyName": "family_name", "middleName": "middle_name"}
_ENTERPRISE_FIELDS = {
    "employeeNumber": "employee_number",
    "costCenter": "cost_center",
    "organization": "organization",
    "division": "division",
    "department": "department",
}


def _text(body: dict[str, Any], key: str, label: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_value(f"{label} must be a string.")
    return str(value).strip()


def _complex(body: dict[str, Any], key: str, label: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_value(f"{label} must be an object.")
    return value


def _list_of_objects(body: dict[str, Any], key: str, label: str) -> list[dict[str, Any]]:
    value = body.get(key)
    if value is None:
        return []
    if isinstance(value, dict):  # OneLogin sends emails as a single object
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise invalid_value(f"{label} must be a list of objects.")
    return value


def parse_boolean(value: Any, label: str) -> bool:
    flag = _boolean_or_none(value)
    if flag is None:
        raise invalid_value(f"{label} must be true or false.")
    return flag


def _pick_email(emails: list[dict[str, Any]]) -> str | None:
    values = [e for e in emails if e.get("value") not in (None, "")]
    if not values:
        return None
    chosen = (
        next((e for e in values if _boolean_or_none(e.get("primary")) is True), None)
        or next((e for e in values if str(e.get("type", "")).lower() == "work"), None)
        or values[0]
    )
    if not isinstance(chosen["value"], str):
        raise invalid_value("emails.value must be a string.")
    return chosen["value"].strip()


def _as_written(items: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """A multi-valued attribute's values as written (value, and type and primary when sent):
    emails and phoneNumbers read back exactly so."""
    kept = []
    for item in items:
        value = item.get("value")
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise invalid_value(f"{label}.value must be a string.")
        entry: dict[str, Any] = {"value": value.strip()}
        kind = item.get("type")
        if kind not in (None, ""):
            if not isinstance(kind, str):
                raise invalid_value(f"{label}.type must be a string.")
            entry["type"] = kind.strip()
        if item.get("primary") is not None:
            entry["primary"] = parse_boolean(item["primary"], f"{label}.primary")
        kept.append(entry)
    return kept


def _work_phone(phones: list[dict[str, Any]]) -> str | None:
    """The work number a client wrote (the primary one first), in E.164, if it is one: the
    services move the user to it when it is free in the company's pool. A work number that
    is not a number of the pool (a desk phone from before) is only profile data."""
    work = [p for p in phones if str(p.get("type", "")).lower() == "work"]
    for phone in sorted(work, key=lambda p: p.get("primary") is not True):
        number = re.sub(r"[\s().-]", "", phone["value"])
        if _E164.match(number):
            return number
    return None


def user_changes(body: dict[str, Any], *, replace: bool, current: User | None) -> dict[str, Any]:
    """A canonical SCIM User body (see normalize_body) → the domain's user change.

    With `replace` (POST, PUT, and PATCH after applying its operations) every attribute not
    sent is cleared (areaCode included), but for the ones every user has: `active`, and our
    extension's licenseType and officeName are kept unless sent (schema.py says so).
    """
    changes: dict[str, Any] = {}
    user_name = _text(body, "userName", "userName")
    if not user_name:
        raise invalid_value("userName is required.")
    if len(user_name) > 255:
        raise invalid_value("userName is longer than 255 characters.")
    changes["scim_user_name"] = user_name
    emails = _list_of_objects(body, "emails", "emails")
    email = _pick_email(emails)
    if replace or "emails" in body:
        changes["email_addresses"] = _as_written(emails, "emails")
    if email is None and "@" in user_name:
        email = user_name
    if email is not None:
        if len(email) > 254:
            raise invalid_value("The email is longer than 254 characters.")
        changes["email"] = email
    elif current is None:
        raise invalid_value("Send an email (emails) or a userName that is an email address.")

    external_id = _text(body, "externalId", "externalId")
    if external_id is not None and len(external_id) > 255:
        raise invalid_value("externalId is longer than 255 characters.")
    if replace or "externalId" in body:
        changes["external_id"] = external_id or None

    name = _complex(body, "name", "name")
    if replace or "formatted" in name:
        changes["name_formatted"] = _text(name, "formatted", "name.formatted") or ""
    for key, field in _NAME_FIELDS.items():
        if replace or key in name:
            changes[field] = _text(name, key, f"name.{key}") or ""
    for key, field in _STRING_FIELDS.items():
        if replace or key in body:
            changes[field] = _text(body, key, key) or ""

    if "active" in body and body["active"] is not None:
        changes["active"] = parse_boolean(body["active"], "active")

    if "phoneNumbers" in body:
        phones = _as_written(_list_of_objects(body, "phoneNumbers", "phoneNumbers"), "phoneNumbers")
        changes["phone_numbers"] = phones
        changes["work_phone"] = _work_phone(phones)
    elif replace:
        # Not sent in a PUT: back to the server's default, the assigned number (RFC 7644 §3.5.1
        # lets the server give an attribute it is not sent its default).
        changes["phone_numbers"] = None
        changes["work_phone"] = None

    enterprise = _complex(body, s.ENTERPRISE_USER, "The enterprise extension")
    for key, field in _ENTERPRISE_FIELDS.items():
        if replace or key in enterprise:
            changes[field] = _text(enterprise, key, key) or ""
    if replace or "manager" in enterprise:
        manager = enterprise.get("manager")
        if isinstance(manager, dict):
            reference = manager.get("$ref")
            manager = manager.get("value")
            if manager in (None, "") and isinstance(reference, str):
                manager = reference.rstrip("/").rsplit("/", 1)[-1]  # RFC 7643 §4.3: $ref
        if manager not in (None, "") and not isinstance(manager, str | int):
            raise invalid_value("manager.value must be a user id.")
        changes["manager_id"] = str(manager) if manager not in (None, "") else None

    switchboard = _complex(body, s.SWITCHBOARD_USER, "The switchboard extension")
    license_type = _text(switchboard, "licenseType", "licenseType")
    if license_type:
        normalized = license_type.lower().replace(" ", "_")
        if normalized not in s.LICENSE_TYPES:
            raise invalid_value(
                f"Unknown licenseType '{license_type[:40]}'. Use one of: "
                f"{', '.join(s.LICENSE_TYPES)}."
            )
        changes["license_type"] = normalized
    office_name = _text(switchboard, "officeName", "officeName")
    if office_name:
        changes["office_name"] = office_name
    area_code = _text(switchboard, "areaCode", "areaCode")
    if replace or area_code:
        changes["area_code"] = area_code or None
    return changes


def group_changes(body: dict[str, Any]) -> tuple[str, set[int], str | None]:
    """A canonical SCIM Group body → the office name, the ids of its members and the
    externalId (None when not sent)."""
    external_id = _text(body, "externalId", "externalId") or None
    if external_id is not None and len(external_id) > 255:
        raise invalid_value("externalId is longer than 255 characters.")
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise invalid_value("displayName (the office name) is required.")
    members = body.get("members")
    if members is None:
        members = []
    if not isinstance(members, list):
        raise invalid_value("members must be a list of objects with a value (a user id).")
    ids: set[int] = set()
    for member in members:
        value = member.get("value") if isinstance(member, dict) else None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise invalid_value("Each member needs a value: the id of a user.")
        # Compared as written, as /Users/{id} is: "0296", "+296" or "٢٩٦" name no user.
        pk = resource_pk(value)
        if pk is None:
            raise invalid_value(f"There is no user with id '{str(value)[:40]}' in this company.")
        ids.add(pk)
    return name.strip(), ids, external_id


def normalize_body(body: Any, resource_type: s.ResourceType) -> dict[str, Any]:
    """Attribute names in any case → canonical; top-level custom params (OneLogin) → our
    extension; unknown schema URNs refused. Unknown attributes are ignored (RFC 7644 §3.3)."""
    if not isinstance(body, dict):
        raise invalid_syntax_error("The request body must be a JSON object.")
    schemas = body.get("schemas")
    if schemas is not None:
        if not isinstance(schemas, list) or not all(isinstance(u, str) for u in schemas):
            raise invalid_value("schemas must be a list of schema URNs.")
        known = {urn.lower() for urn in resource_type.schema_ids} | resource_type.markers
        unknown = [u for u in schemas if u.lower() not in known]
        if unknown:
            raise invalid_value(
                f"Unknown schema '{unknown[0][:100]}'. This endpoint accepts: "
                f"{', '.join(sorted(resource_type.schema_ids))}."
            )
    result: dict[str, Any] = {}
    for key, value in body.items():
        if not isinstance(key, str):
            continue
        if key.lower().startswith("urn:"):
            extension = resource_type.extension(key)
            if extension is not None:
                if value is not None and not isinstance(value, dict):
                    raise invalid_value(f"{extension.id} must be an object.")
                result[extension.id] = _canonical_keys(value or {}, extension.attributes)
                continue
            if key.lower() == resource_type.schema.id.lower() and isinstance(value, dict):
                result.update(_canonical_keys(value, resource_type.schema.attributes))
                continue
            raise invalid_value(f"Unknown schema '{key[:100]}' in the body.")
        found = resource_type.resolve(None, key)
        if found is not None:
            schema, attribute = found
            if schema.id != resource_type.schema.id:
                result.setdefault(schema.id, {})[attribute.name] = value
            else:
                result[attribute.name] = _canonical_value(value, attribute)
            continue
        for extension in resource_type.extensions:
            custom = extension.attribute(key)
            if extension.id == s.SWITCHBOARD_USER and custom is not None:
                result.setdefault(extension.id, {}).setdefault(custom.name, value)
    return result


def invalid_syntax_error(detail: str) -> Exception:
    from provisioning.scim.errors import invalid_syntax

    return invalid_syntax(detail)


def _canonical_keys(body: dict[str, Any], attributes: Iterable[s.Attribute]) -> dict[str, Any]:
    by_name = {a.name.lower(): a for a in attributes}
    result: dict[str, Any] = {}
    for key, value in body.items():
        attribute = by_name.get(str(key).lower())
        if attribute is not None:
            result[attribute.name] = _canonical_value(value, attribute)
    return result


def _canonical_value(value: Any, attribute: s.Attribute) -> Any:
    if not attribute.sub_attributes:
        return value
    if isinstance(value, dict):
        return _canonical_keys(value, attribute.sub_attributes)
    if isinstance(value, list):
        return [
            _canonical_keys(v, attribute.sub_attributes) if isinstance(v, dict) else v
            for v in value
        ]
    return value
