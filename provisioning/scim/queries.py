"""SCIM attributes as ORM queries: each filterable attribute of Users and Groups as the `Q` its
comparison builds (filters.to_q walks a parsed filter through these maps), and the sortable
ones as the expression `sortBy` orders by."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import F, Q
from django.db.models.functions import Coalesce, Lower
from django.utils.dateparse import parse_datetime

from accounts.models import UserEmail, UserPhoneNumber, UserStatus, lowered_by_database
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
    parse_path,
)
from provisioning.scim.values import boolean_or_none, resource_pk

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


def user_named(user_name: str) -> Q:
    """The users a `userName eq` filter finds."""
    return _user_name("eq", user_name)


def _lowered(field: str) -> Builder:
    """A caseExact:false string stored lower-cased: compared as is, so its index serves."""
    exact = _string(field, case_exact=True)

    def build(op: str, value: Any) -> Q:
        return exact(op, value.lower() if isinstance(value, str) else value)

    return build


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
        flag = boolean_or_none(value)
        if op not in {"eq", "ne"} or flag is None:
            raise invalid_filter("Compare a boolean with eq or ne and true or false, or pr.")
        return Q(**{field: flag == (op == "eq")})

    return build


def _active(op: str, value: Any) -> Q:
    if op == "pr":
        return Q_TRUE
    if op not in {"eq", "ne"}:
        raise invalid_filter("Booleans can only be compared with eq, ne or pr.")
    flag = boolean_or_none(value)
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


def resolver(
    resource_type: s.ResourceType, filters: AttributeMap
) -> Callable[[AttrRef], Target | None]:
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
    path = parse_path(sort_by)
    found = resource_type.resolve(path.attr.urn, path.attr.name) if not path.filter else None
    if found is not None:
        key = found[1].name.lower() + (f".{path.attr.sub.lower()}" if path.attr.sub else "")
        if key in table:
            return table[key]
    raise invalid_value(f"Results cannot be sorted by '{sort_by[:60]}'.")
