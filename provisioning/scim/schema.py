"""The SCIM schemas we serve (RFC 7643), as data: discovery, projection, PATCH paths and body
parsing all read these definitions, so what /Schemas advertises is what the server does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SWITCHBOARD_USER = "urn:ietf:params:scim:schemas:extension:switchboard:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

LICENSE_TYPES = ("talk", "contact_center", "sales")


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str = "string"
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        lowered = name.lower()
        return next((a for a in self.sub_attributes if a.name.lower() == lowered), None)

    def to_scim(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "mutability": self.mutability,
            "returned": self.returned,
        }
        if self.type in {"string", "reference", "binary"}:
            body["caseExact"] = self.case_exact
            body["uniqueness"] = self.uniqueness
        if self.canonical_values:
            body["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            body["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            body["subAttributes"] = [a.to_scim() for a in self.sub_attributes]
        return body


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    def attribute(self, name: str) -> Attribute | None:
        lowered = name.lower()
        return next((a for a in self.attributes if a.name.lower() == lowered), None)

    @property
    def required(self) -> bool:
        return any(a.required for a in self.attributes)

    def to_scim(self, base_url: str) -> dict[str, Any]:
        return {
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_scim() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.id}"},
        }


def _s(name: str, description: str, **kwargs: Any) -> Attribute:
    return Attribute(name=name, description=description, **kwargs)


_ref = Attribute("$ref", "reference", description="URI of the resource.", mutability="readOnly")

# Common attributes (RFC 7643 §3.1): not listed in /Schemas, but filterable and projectable.
COMMON_ATTRIBUTES = (
    _s(
        "id",
        "Identifier assigned by Switchboard.",
        case_exact=True,
        mutability="readOnly",
        returned="always",
        uniqueness="server",
    ),
    _s("externalId", "The identity provider's identifier for the resource.", case_exact=True),
    Attribute(
        "meta",
        "complex",
        description="Resource metadata.",
        mutability="readOnly",
        sub_attributes=(
            _s("resourceType", "User or Group.", case_exact=True, mutability="readOnly"),
            Attribute("created", "dateTime", description="When created.", mutability="readOnly"),
            Attribute(
                "lastModified", "dateTime", description="Last change.", mutability="readOnly"
            ),
            Attribute("location", "reference", description="URI.", mutability="readOnly"),
            _s("version", "Weak entity tag.", case_exact=True, mutability="readOnly"),
        ),
    ),
)
SCHEMAS_ATTRIBUTE = _s("schemas", "Schema URNs.", case_exact=True, returned="always")


def _multi_complex(name: str, description: str, types: tuple[str, ...]) -> Attribute:
    return Attribute(
        name,
        "complex",
        multi_valued=True,
        description=description,
        sub_attributes=(
            _s("value", f"The {name[:-1]} itself."),
            _s("type", "A label for its function.", canonical_values=types),
            Attribute("primary", "boolean", description="The primary value."),
        ),
    )


USER_SCHEMA = Schema(
    CORE_USER,
    "User",
    "User account",
    (
        _s(
            "userName",
            "Unique identifier for the user in the company; compared without regard "
            "to case. Also the sign-in email when no email is sent.",
            required=True,
            uniqueness="server",
        ),
        Attribute(
            "name",
            "complex",
            description="The user's name.",
            sub_attributes=(
                _s(
                    "formatted",
                    "The full name as written; when never written, composed from the given "
                    "and family name.",
                ),
                _s("familyName", "Family name."),
                _s("givenName", "Given name."),
                _s("middleName", "Middle name."),
            ),
        ),
        _s("displayName", "Name shown to other users."),
        _s("nickName", "Casual name."),
        _s("title", "Job title."),
        _s("userType", "Relationship to the company, e.g. Employee or Contractor."),
        _s("preferredLanguage", "Preferred language, e.g. en-US."),
        _s("locale", "Locale for formatting, e.g. en-US."),
        _s("timezone", "Time zone, e.g. America/Los_Angeles."),
        Attribute(
            "active",
            "boolean",
            required=True,
            description="false suspends the user (license and number freed, sign-in blocked); "
            "true restores them. Every user is active or suspended, so it cannot be removed. "
            "A create without it makes an active user; a PUT without it leaves it as it is "
            "(leaving it out never suspends anyone).",
        ),
        Attribute(
            "emails",
            "complex",
            multi_valued=True,
            required=True,
            description="Required unless the userName is an email address. Every email is kept "
            "as written; the sign-in email (unique across Switchboard) is the primary one, "
            "else the work one, else the first. Filters match the sign-in email.",
            sub_attributes=(
                _s("value", "The email address.", required=True),
                _s("type", "work, home or other.", canonical_values=("work", "home", "other")),
                Attribute("primary", "boolean", description="The preferred email; at most one."),
            ),
        ),
        Attribute(
            "phoneNumbers",
            "complex",
            multi_valued=True,
            description="The user's phone numbers, read back exactly as written. Until a client "
            "writes any (or after a PUT without them), the assigned number, with type work. "
            "Writing a work number of the company's pool moves the user to it when it is free "
            "(refused when another user holds it); any other number is profile data. The "
            "assigned number is always the extension's phoneNumber.",
            sub_attributes=(
                _s("value", "The number; a work number of the pool in E.164."),
                _s(
                    "type",
                    "work, mobile, home, other",
                    canonical_values=("work", "mobile", "home", "fax", "pager", "other"),
                ),
                Attribute(
                    "primary",
                    "boolean",
                    description="The preferred number; at most one.",
                ),
            ),
        ),
        Attribute(
            "groups",
            "complex",
            multi_valued=True,
            description="The user's office (a Group). Change it through the Group or officeName.",
            mutability="readOnly",
            sub_attributes=(
                _s("value", "The office id.", mutability="readOnly"),
                Attribute(
                    "$ref",
                    "reference",
                    description="The office URI.",
                    mutability="readOnly",
                    reference_types=("Group",),
                ),
                _s("display", "The office name.", mutability="readOnly"),
                _s("type", "direct", mutability="readOnly", canonical_values=("direct",)),
            ),
        ),
    ),
)

ENTERPRISE_SCHEMA = Schema(
    ENTERPRISE_USER,
    "EnterpriseUser",
    "Enterprise user",
    (
        _s("employeeNumber", "Employee number."),
        _s("costCenter", "Cost center."),
        _s("organization", "Organization."),
        _s("division", "Division."),
        _s("department", "Department."),
        Attribute(
            "manager",
            "complex",
            description="The user's manager, a user of the same company.",
            sub_attributes=(
                _s("value", "The manager's id."),
                Attribute(
                    "$ref",
                    "reference",
                    description="The manager's URI (read when value is not sent).",
                    reference_types=("User",),
                ),
                _s(
                    "displayName",
                    "The manager's name (returned when asked for by attributes).",
                    mutability="readOnly",
                    returned="request",
                ),
            ),
        ),
    ),
)

SWITCHBOARD_SCHEMA = Schema(
    SWITCHBOARD_USER,
    "SwitchboardUser",
    "Switchboard phone-system settings. licenseType, officeName and areaCode may also be sent "
    "as top-level attributes (OneLogin custom parameters).",
    (
        _s(
            "licenseType",
            "License the user holds while active (a suspended user keeps it for "
            "reactivation but takes no seat). Every user has one: a create without it gets "
            "talk. No free seat refuses the change.",
            required=True,
            case_exact=True,
            canonical_values=LICENSE_TYPES,
        ),
        _s(
            "officeName",
            "The user's office (a Group's displayName). Every user sits in one: a create "
            "without it goes to the main office.",
            required=True,
        ),
        _s(
            "areaCode",
            "The area code the work number is to come from, as the client asked. Kept while "
            "the user is suspended and used when they get a number again; without one, the "
            "number comes from the office's pool or the company reserve.",
            case_exact=True,
        ),
        _s(
            "phoneNumber",
            "The assigned number (E.164), the user's line, whatever phoneNumbers hold; returned "
            "when asked for by attributes.",
            case_exact=True,
            mutability="readOnly",
            returned="request",
        ),
        Attribute(
            "pendingChanges",
            "integer",
            description="Changes of this user waiting for an approver; absent when none wait.",
            mutability="readOnly",
        ),
    ),
)

GROUP_SCHEMA = Schema(
    CORE_GROUP,
    "Group",
    "An office. A user is in exactly one office: adding a member moves them here; removing a "
    "member moves them to the main office (members cannot be removed from the main office). "
    "A new group is an office in the main office's country and time zone; an office with "
    "members cannot be deleted.",
    (
        _s("displayName", "The office name.", required=True, uniqueness="server"),
        Attribute(
            "members",
            "complex",
            multi_valued=True,
            description="The users in the office.",
            sub_attributes=(
                _s("value", "The user's id.", case_exact=True, mutability="immutable"),
                Attribute(
                    "$ref",
                    "reference",
                    description="The user's URI.",
                    mutability="immutable",
                    reference_types=("User",),
                ),
                _s(
                    "display",
                    "The user's name (returned when asked for by attributes).",
                    mutability="readOnly",
                    returned="request",
                ),
                _s("type", "User", mutability="immutable", canonical_values=("User",)),
            ),
        ),
    ),
)

ALL_SCHEMAS = {s.id: s for s in (USER_SCHEMA, ENTERPRISE_SCHEMA, SWITCHBOARD_SCHEMA, GROUP_SCHEMA)}


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    schema: Schema
    extensions: tuple[Schema, ...]
    description: str
    # Schema URNs a client may name in a body's `schemas` that hold no attribute: accepted and
    # ignored (never rendered).
    markers: frozenset[str] = frozenset()
    # Attributes (lower-case, `attr` or `attr.sub`) of the resource's RFC 7643 schema that this
    # server does not keep: a PATCH by path ignores them, as a POST or PUT body does.
    unkept: frozenset[str] = frozenset()

    @property
    def schema_ids(self) -> set[str]:
        return {self.schema.id, *(e.id for e in self.extensions)}

    def resolve(self, urn: str | None, name: str) -> tuple[Schema, Attribute] | None:
        """Find a top-level attribute by name (case-insensitive), optionally in a URN."""
        lowered = name.lower()
        if urn is None:
            for attribute in (*COMMON_ATTRIBUTES, SCHEMAS_ATTRIBUTE):
                if attribute.name.lower() == lowered:
                    return self.schema, attribute
        schemas = [self.schema, *self.extensions]
        if urn is not None:
            schemas = [s for s in schemas if s.id.lower() == urn.lower()]
            if urn.lower() == self.schema.id.lower():
                for attribute in COMMON_ATTRIBUTES:
                    if attribute.name.lower() == lowered:
                        return self.schema, attribute
        for schema in schemas:
            match = schema.attribute(name)
            if match is not None:
                return schema, match
        return None

    def extension(self, urn: str) -> Schema | None:
        return next((e for e in self.extensions if e.id.lower() == urn.lower()), None)

    def to_scim(self, base_url: str) -> dict[str, Any]:
        return {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": f"/{self.endpoint}",
            "description": self.description,
            "schema": self.schema.id,
            # An extension with a required attribute is in every resource (RFC 7643 §6).
            "schemaExtensions": [{"schema": e.id, "required": e.required} for e in self.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/{self.name}",
            },
        }


USER_TYPE = ResourceType(
    "User",
    "Users",
    USER_SCHEMA,
    (ENTERPRISE_SCHEMA, SWITCHBOARD_SCHEMA),
    "Users of the company",
    # Entra's default mappings write work addresses by path in the PATCH that carries the
    # changes: refusing them (invalidPath) would refuse those changes on every sync.
    unkept=frozenset(
        {
            "addresses",
            "ims",
            "photos",
            "entitlements",
            "roles",
            "x509certificates",
            "profileurl",
            "password",
            "name.honorificprefix",
            "name.honorificsuffix",
        }
    ),
)
# Entra's group create names its classic client's attribute-less Group schema next to the core
# one (as its SCIM documentation shows); refusing it would fail every group push.
ENTRA_GROUP_MARKER = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
GROUP_TYPE = ResourceType(
    "Group",
    "Groups",
    GROUP_SCHEMA,
    (),
    "Offices of the company",
    markers=frozenset({ENTRA_GROUP_MARKER.lower()}),
)
RESOURCE_TYPES = {"User": USER_TYPE, "Group": GROUP_TYPE}
