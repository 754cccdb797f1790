"""PATCH (RFC 7644 §3.5.2) on a resource's SCIM representation. Operations apply to a copy of
the representation; the caller turns the result into one domain change, so a PATCH is atomic:
every operation applies, or nothing does.

An operation without a path spreads its value into one operation per attribute; one with a
path finds its target (`_target`), then applies by case: a filtered path
(`emails[type eq "work"].value`), a sub-attribute (`name.givenName`), a remove, a multi-valued
add or replace, a single value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from provisioning.scim import schema as s
from provisioning.scim.changes import canonical_value, normalize_body
from provisioning.scim.errors import ScimError, invalid_path, invalid_syntax, invalid_value
from provisioning.scim.filters import (
    And,
    AttrRef,
    Compare,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
    parse_path,
)

MAX_OPERATIONS = 100

# Required attributes (a user always has a value for them): removing one (RFC 7644 §3.5.2.2:
# the attribute becomes unassigned) has no meaning, so it is refused, in these words.
_NOT_REMOVABLE = {
    (s.CORE_USER, "active"): "active cannot be removed: a user is either active or suspended. "
    "Replace it with true or false.",
    (s.SWITCHBOARD_USER, "licenseType"): "licenseType cannot be removed: a user always has a "
    "license type. Replace it with another one.",
    (s.SWITCHBOARD_USER, "officeName"): "officeName cannot be removed: a user always sits in an "
    "office. Replace it, or add the user to another Group.",
}


def no_target(detail: str) -> ScimError:
    return ScimError(400, detail, "noTarget")


def mutability(detail: str) -> ScimError:
    return ScimError(400, detail, "mutability")


def parse_operations(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise invalid_syntax("The request body must be a JSON object.")
    lowered = {str(k).lower(): v for k, v in body.items()}
    schemas = lowered.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or s.PATCH_OP not in schemas):
        raise invalid_value(f'A PATCH body has schemas ["{s.PATCH_OP}"].')
    operations = lowered.get("operations")
    if not isinstance(operations, list) or not operations:
        raise invalid_syntax("A PATCH body needs a non-empty Operations list.")
    if len(operations) > MAX_OPERATIONS:
        raise ScimError(
            400,
            f"A PATCH may hold at most {MAX_OPERATIONS} operations; this one has "
            f"{len(operations)}. Split it.",
            "tooMany",
        )
    parsed = []
    for operation in operations:
        if not isinstance(operation, dict):
            raise invalid_syntax("Each operation must be an object with op, path and value.")
        fields = {str(k).lower(): v for k, v in operation.items()}
        op = fields.get("op")
        if not isinstance(op, str) or op.lower() not in {"add", "replace", "remove"}:
            raise invalid_syntax(f"Unknown PATCH op '{str(op)[:20]}'. Use add, replace or remove.")
        path = fields.get("path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise invalid_path("path must be a non-empty string.")
        parsed.append({"op": op.lower(), "path": path, "value": fields.get("value")})
    return parsed


def apply_patch(
    resource: dict[str, Any], operations: list[dict[str, Any]], resource_type: s.ResourceType
) -> dict[str, Any]:
    # A representation is JSON (its ETag is its orjson encoding): a JSON round trip copies it,
    # several times faster than deepcopy.
    result = orjson.loads(orjson.dumps(resource))
    for operation in operations:
        op, path, value = operation["op"], operation["path"], operation["value"]
        if path is None:
            _apply_without_path(result, op, value, resource_type)
            continue
        extension = resource_type.extension(path)
        if extension is not None:
            _apply_to_extension(result, op, extension, value, resource_type)
            continue
        parsed = parse_path(path)
        if op != "remove" and value is None and parsed.filter is None:
            raise invalid_value(f"The {op} of '{path[:60]}' needs a value.")
        _apply(result, op, parsed.attr, parsed.filter, value, resource_type, strict=True)
    return result


def _apply_without_path(
    result: dict[str, Any], op: str, value: Any, resource_type: s.ResourceType
) -> None:
    """Okta's and Entra's form: the value holds the attributes, each applied as by its path."""
    if op == "remove":
        raise no_target("A remove operation needs a path.")
    if not isinstance(value, dict):
        raise invalid_value(f"An {op} without a path needs an object as its value.")
    schema_ids = {urn.lower() for urn in resource_type.schema_ids}
    # Keys that are paths ("name.givenName", "urn:…:User:department") apply one by one; plain
    # attribute names and whole extension objects are normalized together.
    plain = {
        k: v
        for k, v in value.items()
        if (k.lower() in schema_ids) or ("." not in k and not k.lower().startswith("urn:"))
    }
    dotted = {k: v for k, v in value.items() if k not in plain}
    normalized = normalize_body({k: v for k, v in plain.items() if k != "schemas"}, resource_type)
    for key, item in normalized.items():
        extension = resource_type.extension(key)
        if extension is None:
            _apply(result, op, AttrRef(None, key), None, item, resource_type, strict=False)
            continue
        for sub_key, sub_value in item.items():
            attr = AttrRef(extension.id, sub_key)
            _apply(result, op, attr, None, sub_value, resource_type, strict=False)
    for key, item in dotted.items():
        parsed = parse_path(key)
        _apply(result, op, parsed.attr, parsed.filter, item, resource_type, strict=False)


def _apply_to_extension(
    result: dict[str, Any],
    op: str,
    extension: s.Schema,
    value: Any,
    resource_type: s.ResourceType,
) -> None:
    """A whole extension as the path: removed, or its value holds the extension's attributes."""
    if op == "remove":
        if extension.required:
            raise mutability(
                f"{extension.id} cannot be removed: its "
                f"{' and '.join(a.name for a in extension.attributes if a.required)} "
                "are required. Replace or remove its other attributes instead."
            )
        result.pop(extension.id, None)
        return
    if not isinstance(value, dict):
        raise invalid_value(f"The {op} of '{extension.id}' needs an object.")
    _apply_without_path(result, op, {extension.id: value}, resource_type)


@dataclass(frozen=True)
class _Target:
    """Where an operation applies: an attribute (maybe a sub-attribute of it) in its container,
    the resource itself or the extension's object in it."""

    container: dict[str, Any]
    schema: s.Schema
    attribute: s.Attribute
    sub: s.Attribute | None

    @property
    def name(self) -> str:
        return self.attribute.name


def _apply(
    resource: dict[str, Any],
    op: str,
    attr: AttrRef,
    value_filter: Node | None,
    value: Any,
    resource_type: s.ResourceType,
    *,
    strict: bool,
) -> None:
    target = _target(resource, attr, resource_type, strict=strict)
    if target is None:
        return
    if value_filter is None and not (target.sub or target.attribute).multi_valued:
        value = _unwrapped(value, target.sub or target.attribute)
    if value is not None:
        value = canonical_value(value, target.sub or target.attribute)
    if value_filter is not None:
        _at_filtered_path(target, op, value_filter, value)
    elif target.sub is not None:
        _at_sub_attribute(target, target.sub, op, value)
    elif op == "remove":
        _remove(target, value)
    elif target.attribute.multi_valued:
        _add_or_replace_values(target, op, value)
    else:
        _set_value(target, value)


def _target(
    resource: dict[str, Any], attr: AttrRef, resource_type: s.ResourceType, *, strict: bool
) -> _Target | None:
    """The operation's target; None for one to ignore: an attribute we do not keep, or (in a
    PATCH without path, where a client sends the whole resource back) a read-only one."""
    found = resource_type.resolve(attr.urn, attr.name)
    if found is None:
        if strict and not _unkept(attr, resource_type):
            raise invalid_path(f"'{attr}' is not an attribute of a {resource_type.name}.")
        return None
    schema, attribute = found
    sub = attribute.sub(attr.sub) if attr.sub else None
    if attr.sub and sub is None:
        if _unkept(attr, resource_type):
            return None
        raise invalid_path(f"'{attr}' is not an attribute of a {resource_type.name}.")
    if "readOnly" in (attribute.mutability, (sub or attribute).mutability) or (
        attribute.name == "schemas"
    ):
        if strict:
            raise mutability(f"'{attr}' is read-only.")
        return None
    container = resource
    if schema.id != resource_type.schema.id:
        container = resource.setdefault(schema.id, {})
    return _Target(container, schema, attribute, sub)


def _at_filtered_path(target: _Target, op: str, value_filter: Node, value: Any) -> None:
    """`emails[type eq "work"]` (or `….value`): the values the filter matches; a replace that
    matches none adds the value the filter describes (what Entra means)."""
    if not target.attribute.multi_valued:
        raise invalid_path(f"'{target.name}' is not multi-valued: it takes no [filter].")
    container, name, sub = target.container, target.name, target.sub
    elements = container.get(name) or []
    matches = [e for e in elements if isinstance(e, dict) and _matches(e, value_filter)]
    if op == "remove":
        if sub is None:
            container[name] = [e for e in elements if e not in matches]
        else:
            for element in matches:
                element.pop(sub.name, None)
        return
    if not matches:
        new_element = _element_from_filter(value_filter)
        if new_element is None:
            raise no_target(f"No value of '{name}' matches the filter.")
        new_element.update({sub.name: value} if sub else (value or {}))
        container[name] = [*elements, new_element]
        return
    for element in matches:
        if sub is not None:
            element[sub.name] = value
        elif isinstance(value, dict):
            element.update(value)
        else:
            raise invalid_value(f"Replace a value of '{name}' with an object.")


def _at_sub_attribute(target: _Target, sub: s.Attribute, op: str, value: Any) -> None:
    """`name.givenName`, or `emails.type` (every value of a multi-valued attribute)."""
    sub_name = sub.name
    holders = target.container.get(target.name)
    if target.attribute.multi_valued:
        elements = holders or []
    else:
        if not isinstance(holders, dict):
            holders = target.container[target.name] = {}
        elements = [holders]
    for element in elements:
        if op == "remove":
            element.pop(sub_name, None)
        else:
            element[sub_name] = value


def _remove(target: _Target, value: Any) -> None:
    refusal = _NOT_REMOVABLE.get((target.schema.id, target.name))
    if refusal is not None:
        raise mutability(refusal)
    if target.attribute.required:
        raise mutability(f"'{target.name}' is required and cannot be removed.")
    if target.attribute.multi_valued and value is not None:
        # Entra: remove members with a value list — drop just those values.
        keys = {_identity(v) for v in (value if isinstance(value, list) else [value])}
        kept = [e for e in target.container.get(target.name) or [] if _identity(e) not in keys]
        target.container[target.name] = kept
    else:
        target.container.pop(target.name, None)


def _add_or_replace_values(target: _Target, op: str, value: Any) -> None:
    """A multi-valued attribute: add appends the values not there yet, replace sets them all."""
    values = value if isinstance(value, list) else [value]
    if op == "add":
        existing = target.container.get(target.name) or []
        keys = {_identity(e) for e in existing}
        target.container[target.name] = existing + [v for v in values if _identity(v) not in keys]
    else:
        target.container[target.name] = values


def _set_value(target: _Target, value: Any) -> None:
    current = target.container.get(target.name)
    if target.attribute.sub_attributes and isinstance(value, dict) and isinstance(current, dict):
        target.container[target.name] = {**current, **value}  # RFC 7644 §3.5.2.3: merge
        return
    target.container[target.name] = value


def _unwrapped(value: Any, attribute: s.Attribute) -> Any:
    """Entra's classic (customappsso) job writes a single value as a list of one object,
    [{"$ref": null, "value": "Ops"}]: for a single-valued attribute that is the value (the
    object itself for a complex one, like the enterprise manager). Anything else is unchanged
    (and refused later if it is no value of the attribute)."""
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict)):
        return value
    item = value[0]
    if "value" not in item or set(item) - {"value", "$ref", "display"}:
        return value
    return item if attribute.sub_attributes else item["value"]


def _unkept(attr: AttrRef, resource_type: s.ResourceType) -> bool:
    """An attribute of the resource's RFC 7643 schema this server does not keep (see
    ResourceType.unkept): its operation is ignored, as a body ignores it."""
    if attr.urn is not None and attr.urn.lower() != resource_type.schema.id.lower():
        return False
    name = attr.name.lower()
    return (
        name in resource_type.unkept or f"{name}.{attr.sub or ''}".lower() in resource_type.unkept
    )


def _identity(element: Any) -> Any:
    if isinstance(element, dict):
        return str(element.get("value", "")).lower()
    return str(element).lower()


def _element_from_filter(node: Node) -> dict[str, Any] | None:
    """`phoneNumbers[type eq "work"].value` on a user without one: add it (what Entra means)."""
    if isinstance(node, Compare) and node.op == "eq" and node.attr.sub is None:
        return {node.attr.name: node.value}
    if isinstance(node, And):
        left, right = _element_from_filter(node.left), _element_from_filter(node.right)
        if left is not None and right is not None:
            return {**left, **right}
    return None


def _matches(element: dict[str, Any], node: Node) -> bool:
    if isinstance(node, And):
        return _matches(element, node.left) and _matches(element, node.right)
    if isinstance(node, Or):
        return _matches(element, node.left) or _matches(element, node.right)
    if isinstance(node, Not):
        return not _matches(element, node.expr)
    if isinstance(node, ValuePath):
        raise invalid_path("A value filter cannot hold another [filter].")
    lowered = {str(k).lower(): v for k, v in element.items()}
    actual = lowered.get(node.attr.name.lower())
    if isinstance(node, Present):
        return actual not in (None, "", [], {})
    expected = node.value
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    elif isinstance(actual, bool) or isinstance(expected, bool):
        actual = str(actual).lower()
        expected = str(expected).lower()
    if node.op == "eq":
        return bool(actual == expected)
    if node.op == "ne":
        return bool(actual != expected)
    if not isinstance(actual, str) or not isinstance(expected, str):
        return False
    return {
        "co": expected in actual,
        "sw": actual.startswith(expected),
        "ew": actual.endswith(expected),
        "gt": actual > expected,
        "ge": actual >= expected,
        "lt": actual < expected,
        "le": actual <= expected,
    }[node.op]
