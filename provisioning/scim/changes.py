"""A request body read into the domain's change: attribute names in any case and dialect made
canonical by the schemas (schema.py), then a User body into the user change the provisioning
services take, a Group body into an office's. Checks shape and values; no query, no write."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from accounts.models import User
from provisioning.scim import schema as s
from provisioning.scim.errors import invalid_syntax, invalid_value
from provisioning.scim.values import boolean_or_none, resource_pk

# A user change as members.services takes it: model field names (and `active`,
# `email_addresses`, `phone_numbers`, `work_phone`, `office_name`, `area_code`) → new values.
UserChanges = dict[str, Any]


class GroupChanges(NamedTuple):
    name: str
    member_ids: set[int]
    external_id: str | None  # None when not sent


def normalize_body(body: Any, resource_type: s.ResourceType) -> dict[str, Any]:
    """Attribute names in any case → canonical; top-level custom params (OneLogin) → our
    extension; unknown schema URNs refused. Unknown attributes are ignored (RFC 7644 §3.3)."""
    if not isinstance(body, dict):
        raise invalid_syntax("The request body must be a JSON object.")
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
                result[attribute.name] = canonical_value(value, attribute)
            continue
        for extension in resource_type.extensions:
            custom = extension.attribute(key)
            if extension.id == s.SWITCHBOARD_USER and custom is not None:
                result.setdefault(extension.id, {}).setdefault(custom.name, value)
    return result


def _canonical_keys(body: dict[str, Any], attributes: Iterable[s.Attribute]) -> dict[str, Any]:
    by_name = {a.name.lower(): a for a in attributes}
    result: dict[str, Any] = {}
    for key, value in body.items():
        attribute = by_name.get(str(key).lower())
        if attribute is not None:
            result[attribute.name] = canonical_value(value, attribute)
    return result


def canonical_value(value: Any, attribute: s.Attribute) -> Any:
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
    flag = boolean_or_none(value)
    if flag is None:
        raise invalid_value(f"{label} must be true or false.")
    return flag


def _pick_email(emails: list[dict[str, Any]]) -> str | None:
    values = [e for e in emails if e.get("value") not in (None, "")]
    if not values:
        return None
    chosen = (
        next((e for e in values if boolean_or_none(e.get("primary")) is True), None)
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


def user_changes(body: dict[str, Any], *, replace: bool, current: User | None) -> UserChanges:
    """A canonical SCIM User body (see normalize_body) → the domain's user change.

    With `replace` (POST, PUT, and PATCH after applying its operations) every attribute not
    sent is cleared (areaCode included), but for the ones every user has: `active`, and our
    extension's licenseType and officeName are kept unless sent (schema.py says so).
    """
    changes: UserChanges = {}
    _sign_in(changes, body, replace=replace, creating=current is None)
    external_id = _text(body, "externalId", "externalId")
    if external_id is not None and len(external_id) > 255:
        raise invalid_value("externalId is longer than 255 characters.")
    if replace or "externalId" in body:
        changes["external_id"] = external_id or None
    name = _complex(body, "name", "name")
    if replace or "formatted" in name:
        changes["name_formatted"] = _text(name, "formatted", "name.formatted") or ""
    _strings(changes, name, _NAME_FIELDS, "name.", replace=replace)
    _strings(changes, body, _STRING_FIELDS, "", replace=replace)
    if "active" in body and body["active"] is not None:
        changes["active"] = parse_boolean(body["active"], "active")
    _phone_numbers(changes, body, replace=replace)
    enterprise = _complex(body, s.ENTERPRISE_USER, "The enterprise extension")
    _strings(changes, enterprise, _ENTERPRISE_FIELDS, "", replace=replace)
    if replace or "manager" in enterprise:
        changes["manager_id"] = _manager_id(enterprise.get("manager"))
    _switchboard(changes, _complex(body, s.SWITCHBOARD_USER, "The switchboard extension"), replace)
    return changes


def _sign_in(changes: UserChanges, body: dict[str, Any], *, replace: bool, creating: bool) -> None:
    """userName, the emails as written, and the sign-in email among them."""
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
    elif creating:
        raise invalid_value("Send an email (emails) or a userName that is an email address.")


def _strings(
    changes: UserChanges,
    holder: dict[str, Any],
    fields: dict[str, str],
    label: str,
    *,
    replace: bool,
) -> None:
    for key, field in fields.items():
        if replace or key in holder:
            changes[field] = _text(holder, key, f"{label}{key}") or ""


def _phone_numbers(changes: UserChanges, body: dict[str, Any], *, replace: bool) -> None:
    if "phoneNumbers" in body:
        phones = _as_written(_list_of_objects(body, "phoneNumbers", "phoneNumbers"), "phoneNumbers")
        changes["phone_numbers"] = phones
        changes["work_phone"] = _work_phone(phones)
    elif replace:
        # Not sent in a PUT: back to the server's default, the assigned number (RFC 7644 §3.5.1
        # lets the server give an attribute it is not sent its default).
        changes["phone_numbers"] = None
        changes["work_phone"] = None


def _manager_id(manager: Any) -> str | None:
    if isinstance(manager, dict):
        reference = manager.get("$ref")
        manager = manager.get("value")
        if manager in (None, "") and isinstance(reference, str):
            manager = reference.rstrip("/").rsplit("/", 1)[-1]  # RFC 7643 §4.3: $ref
    if manager not in (None, "") and not isinstance(manager, str | int):
        raise invalid_value("manager.value must be a user id.")
    return str(manager) if manager not in (None, "") else None


def _switchboard(changes: UserChanges, switchboard: dict[str, Any], replace: bool) -> None:
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


def group_changes(body: dict[str, Any]) -> GroupChanges:
    """A canonical SCIM Group body → the office name, its members' ids and the externalId."""
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
    return GroupChanges(name.strip(), ids, external_id)
