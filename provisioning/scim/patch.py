"""PATCH (RFC 7644 §3.5.2) on a resource's SCIM representation, and attribute projection
(§3.4.2.5). Operations are applied to a copy of the representation; the caller turns the result
into one domain change, so a PATCH is atomic: every operation applies, or nothing does."""

from __future__ import annotations

import copy
import functools
from typing import Any

import orjson

from provisioning.scim import schema as s
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
from provisioning.scim.resources import normalize_body

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
            if op == "remove":
                raise no_target("A remove operation needs a path.")
            if not isinstance(value, dict):
                raise invalid_value(f"An {op} without a path needs an object as its value.")
            schema_ids = {urn.lower() for urn in resource_type.schema_ids}
            # Keys that are paths ("name.givenName", "urn:…:User:department") apply one by
            # one; plain attribute names and whole extension objects are normalized together.
            plain = {
                k: v
                for k, v in value.items()
                if (k.lower() in schema_ids) or ("." not in k and not k.lower().startswith("urn:"))
            }
            dotted = {k: v for k, v in value.items() if k not in plain}
            normalized = normalize_body(
                {k: v for k, v in plain.items() if k != "schemas"}, resource_type
            )
            for key, item in normalized.items():
                extension = resource_type.extension(key)
                if extension is not None:
                    for sub_key, sub_value in item.items():
                        _apply(
                            result,
                            op,
                            AttrRef(extension.id, sub_key),
                            None,
                            sub_value,
                            resource_type,
                            strict=False,
                        )
                else:
                    _apply(result, op, AttrRef(None, key), None, item, resource_type, strict=False)
            for key, item in dotted.items():
                parsed = parse_path(key)
                _apply(result, op, parsed.attr, parsed.filter, item, resource_type, strict=False)
            continue
        extension = resource_type.extension(path)
        if extension is not None and op == "remove":
            if extension.required:
                raise mutability(
                    f"{extension.id} cannot be removed: its "
                    f"{' and '.join(a.name for a in extension.attributes if a.required)} "
                    "are required. Replace or remove its other attributes instead."
                )
            result.pop(extension.id, None)
            continue
        if extension is not None:
            # A whole extension as the path: its value holds that extension's attributes.
            if not isinstance(value, dict):
                raise invalid_value(f"The {op} of '{extension.id}' needs an object.")
            operations_for_extension = [{"op": op, "path": None, "value": {extension.id: value}}]
            result = apply_patch(result, operations_for_extension, resource_type)
            continue
        parsed = parse_path(path)
        if op != "remove" and value is None and parsed.filter is None:
            raise invalid_value(f"The {op} of '{path[:60]}' needs a value.")
        _apply(result, op, parsed.attr, parsed.filter, value, resource_type, strict=True)
    return result


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
    found = resource_type.resolve(attr.urn, attr.name)
    if found is None:
        if strict and not _unkept(attr, resource_type):
            raise invalid_path(f"'{attr}' is not an attribute of a {resource_type.name}.")
        return
    schema, attribute = found
    sub = attribute.sub(attr.sub) if attr.sub else None
    if attr.sub and sub is None:
        if _unkept(attr, resource_type):
            return
        raise invalid_path(f"'{attr}' is not an attribute of a {resource_type.name}.")
    target = sub or attribute
    if (
        attribute.mutability == "readOnly"
        or target.mutability == "readOnly"
        or (attribute.name == "schemas")
    ):
        if strict:
            raise mutability(f"'{attr}' is read-only.")
        return
    container = resource
    if schema.id != resource_type.schema.id:
        container = resource.setdefault(schema.id, {})
    name = attribute.name
    if value_filter is None and not target.multi_valued:
        value = _unwrapped(value, target)
    if value is not None:
        value = _canonical(value, target if sub else attribute)

    if value_filter is not None:
        if not attribute.multi_valued:
            raise invalid_path(f"'{attribute.name}' is not multi-valued: it takes no [filter].")
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
                raise no_target(f"No value of '{attribute.name}' matches the filter.")
            new_element.update({sub.name: value} if sub else (value or {}))
            container[name] = [*elements, new_element]
            return
        for element in matches:
            if sub is not None:
                element[sub.name] = value
            elif isinstance(value, dict):
                element.update(value)
            else:
                raise invalid_value(f"Replace a value of '{attribute.name}' with an object.")
        return

    if sub is not None:
        if attribute.multi_valued:
            for element in container.get(name) or []:
                if op == "remove":
                    element.pop(sub.name, None)
                else:
                    element[sub.name] = value
            return
        holder = container.get(name)
        if not isinstance(holder, dict):
            holder = {}
            container[name] = holder
        if op == "remove":
            holder.pop(sub.name, None)
        else:
            holder[sub.name] = value
        return

    if op == "remove":
        refusal = _NOT_REMOVABLE.get((schema.id, attribute.name))
        if refusal is not None:
            raise mutability(refusal)
        if attribute.required:
            raise mutability(f"'{attribute.name}' is required and cannot be removed.")
        if attribute.multi_valued and value is not None:
            # Entra: remove members with a value list — drop just those values.
            remove = value if isinstance(value, list) else [value]
            keys = {_identity(v) for v in remove}
            container[name] = [e for e in container.get(name) or [] if _identity(e) not in keys]
        else:
            container.pop(name, None)
        return
    if attribute.multi_valued:
        values = value if isinstance(value, list) else [value]
        if op == "add":
            existing = container.get(name) or []
            keys = {_identity(e) for e in existing}
            container[name] = existing + [v for v in values if _identity(v) not in keys]
        else:
            container[name] = values
        return
    if (
        attribute.sub_attributes
        and isinstance(value, dict)
        and isinstance(container.get(name), dict)
    ):
        container[name] = {**container[name], **value}  # RFC 7644 §3.5.2.3: merge sub-attributes
        return
    container[name] = value


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


def _canonical(value: Any, attribute: s.Attribute) -> Any:
    from provisioning.scim.resources import _canonical_value

    return _canonical_value(value, attribute)


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


# --- attributes / excludedAttributes ---


def _split(names: str | list[str] | None) -> list[str]:
    if not names:
        return []
    items = names if isinstance(names, list) else names.split(",")
    return [str(item).strip() for item in items if str(item).strip()]


Name = tuple[str | None, str | None, str | None]
# An attribute returned only on request: (extension URN or None, attribute, sub-attribute).
OnRequest = tuple[str | None, str, str | None]


def project(
    body: dict[str, Any],
    resource_type: s.ResourceType,
    attributes: str | list[str] | None,
    excluded: str | list[str] | None,
) -> dict[str, Any]:
    """Return only what was asked for; `id` and `schemas` are returned always (RFC 7643 §7)."""
    return Projection(resource_type, attributes, excluded)(body)


class Projection:
    """attributes/excludedAttributes resolved once, then applied to each resource of an answer
    (a list page projects up to 200 with the same parameters)."""

    def __init__(
        self,
        resource_type: s.ResourceType,
        attributes: str | list[str] | None,
        excluded: str | list[str] | None,
    ) -> None:
        self.include = [r for n in _split(attributes) if (r := _resolve_name(n, resource_type))]
        self.exclude = [r for n in _split(excluded) if (r := _resolve_name(n, resource_type))]
        self.unrequested = [
            name for name in _returned_on_request(resource_type.name) if name not in self.include
        ]

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        return _without(_select(body, self.include, self.exclude), self.unrequested)


def _without(result: dict[str, Any], unrequested: list[OnRequest]) -> dict[str, Any]:
    """RFC 7643 §7: an attribute returned "request" appears only when `attributes` names it
    (naming its parent is not enough). Copies what it changes: `result` may share values with
    the rendered body."""
    for container, name, sub in unrequested:
        holder = result if container is None else result.get(container)
        if not isinstance(holder, dict) or name not in holder:
            continue
        if container is not None:
            holder = result[container] = dict(holder)
        value = holder[name]
        if sub is None:
            del holder[name]
        elif isinstance(value, list):
            holder[name] = [
                {k: v for k, v in e.items() if k != sub} if isinstance(e, dict) else e
                for e in value
            ]
        elif isinstance(value, dict):
            holder[name] = {k: v for k, v in value.items() if k != sub}
    return result


@functools.cache
def _returned_on_request(resource_type_name: str) -> tuple[OnRequest, ...]:
    """By name: a ResourceType's hash walks every attribute of its schemas."""
    resource_type = s.RESOURCE_TYPES[resource_type_name]
    found: list[OnRequest] = []
    for schema in (resource_type.schema, *resource_type.extensions):
        container = None if schema is resource_type.schema else schema.id
        for attribute in schema.attributes:
            if attribute.returned == "request":
                found.append((container, attribute.name, None))
            found.extend(
                (container, attribute.name, sub.name)
                for sub in attribute.sub_attributes
                if sub.returned == "request"
            )
    return tuple(found)


def _select(body: dict[str, Any], include: list[Name], exclude: list[Name]) -> dict[str, Any]:
    if include:
        result: dict[str, Any] = {k: body[k] for k in ("schemas", "id") if k in body}
        for container, name, sub in include:
            source = body if container is None else body.get(container) or {}
            if name is None:
                if container in body:
                    result[container] = body[container]
                continue
            if name not in source:
                continue
            target = result if container is None else result.setdefault(container, {})
            value = source[name]
            if sub is None:
                target[name] = value
            elif isinstance(value, list):
                existing = target.get(name) or [{} for _ in value]
                for kept, element in zip(existing, value, strict=False):
                    if isinstance(element, dict) and sub in element:
                        kept[sub] = element[sub]
                target[name] = existing
            elif isinstance(value, dict) and sub in value:
                target.setdefault(name, {})[sub] = value[sub]
        return result
    if not exclude:
        return dict(body)  # nothing to take out of nested values: no deep copy
    result = copy.deepcopy(body)
    for container, name, sub in exclude:
        if name in {"id", "schemas"} and container is None:
            continue
        holder = result if container is None else result.get(container)
        if not isinstance(holder, dict):
            continue
        if name is None:
            result.pop(container, None)  # type: ignore[arg-type]
        elif sub is None:
            holder.pop(name, None)
        elif isinstance(holder.get(name), list):
            for element in holder[name]:
                if isinstance(element, dict):
                    element.pop(sub, None)
        elif isinstance(holder.get(name), dict):
            holder[name].pop(sub, None)
    return result


def _resolve_name(text: str, resource_type: s.ResourceType) -> Name | None:
    """'name.givenName' → (None, 'name', 'givenName'); an extension URN → (urn, None, None)."""
    for schema_id in resource_type.schema_ids:
        if text.lower() == schema_id.lower():
            if schema_id == resource_type.schema.id:
                return None
            return (schema_id, None, None)
    try:
        path = parse_path(text)
    except ScimError:
        return None
    found = resource_type.resolve(path.attr.urn, path.attr.name)
    if found is None:
        return None
    schema, attribute = found
    sub = attribute.sub(path.attr.sub) if path.attr.sub else None
    if path.attr.sub and sub is None:
        return None
    container = None if schema.id == resource_type.schema.id else schema.id
    return (container, attribute.name, sub.name if sub else None)
