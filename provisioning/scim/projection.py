"""attributes / excludedAttributes (RFC 7644 §3.4.2.5, RFC 7643 §7): what of a rendered resource
an answer shows. Resolved once per request (`Projection`), applied to each resource."""

from __future__ import annotations

import copy
import functools
from typing import Any

from provisioning.scim import schema as s
from provisioning.scim.errors import ScimError
from provisioning.scim.filters import parse_path
from provisioning.scim.request import param


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
        return _included(body, include)
    if not exclude:
        return dict(body)  # nothing to take out of nested values: no deep copy
    return _excluded(body, exclude)


def _included(body: dict[str, Any], include: list[Name]) -> dict[str, Any]:
    """`attributes`: only these, with `id` and `schemas`."""
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


def _excluded(body: dict[str, Any], exclude: list[Name]) -> dict[str, Any]:
    """`excludedAttributes`: all but these (never `id` and `schemas`)."""
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


def members_wanted(params: dict[str, Any]) -> bool:
    """Whether attributes/excludedAttributes keep Groups' members (projecting a sample): when
    not, a read neither loads nor renders them."""
    sample = {"members": [{"value": "0", "display": "-"}]}
    shown = project(
        sample, s.GROUP_TYPE, param(params, "attributes"), param(params, "excludedAttributes")
    )
    return "members" in shown
