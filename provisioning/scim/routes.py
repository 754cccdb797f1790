"""Every SCIM URL under /scim/v2/ and method, in one table: (method, path pattern, operation,
handler). Literal segments match in any case; `{name}` matches one segment, handed to the
handler by name. The operation names each request in metrics and the activity log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse

from provisioning.scim import discovery
from provisioning.scim.errors import ScimError
from provisioning.scim.group_endpoint import GroupEndpoint
from provisioning.scim.listing import Listing
from provisioning.scim.request import Context
from provisioning.scim.user_endpoint import UserEndpoint

Handler = Callable[..., HttpResponse]
ANY = "*"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation: str
    handler: Handler

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The path's `{name}` values when `parts` match the pattern, else None."""
        pattern = [p for p in self.path.split("/") if p]
        if len(pattern) != len(parts):
            return None
        values = {}
        for expected, part in zip(pattern, parts, strict=True):
            if expected.startswith("{"):
                values[expected.strip("{}")] = part
            elif expected.lower() != part.lower():
                return None
        return values


def refuse_me(context: Context, **_: str) -> HttpResponse:
    raise ScimError(
        501, "/Me is not supported: an API key authenticates the identity provider, not a user."
    )


def refuse_bulk(context: Context) -> HttpResponse:
    raise ScimError(
        501,
        "Bulk operations are not supported (bulk.supported is false); send one request per "
        "resource.",
    )


USERS = UserEndpoint()
GROUPS = GroupEndpoint()
USER_LIST = Listing(USERS)
GROUP_LIST = Listing(GROUPS)
EVERYTHING = Listing(USERS, GROUPS)

# The first pattern that matches a path is its route; a method it lacks is 405. Writes read
# their resource locked and change it as it stands (endpoint.py).
ROUTES = [
    Route("GET", "", "search", EVERYTHING.get),
    Route("POST", ".search", "search", EVERYTHING.search),
    Route("GET", "Users", "users.list", USER_LIST.get),
    Route("POST", "Users", "users.create", USERS.create),
    Route("POST", "Users/.search", "users.search", USER_LIST.search),
    Route("GET", "Users/{id}", "users.get", USERS.get),
    Route("PUT", "Users/{id}", "users.replace", USERS.replace),
    Route("PATCH", "Users/{id}", "users.patch", USERS.patch),
    Route("DELETE", "Users/{id}", "users.delete", USERS.delete),
    Route("GET", "Groups", "groups.list", GROUP_LIST.get),
    Route("POST", "Groups", "groups.create", GROUPS.create),
    Route("POST", "Groups/.search", "groups.search", GROUP_LIST.search),
    Route("GET", "Groups/{id}", "groups.get", GROUPS.get),
    Route("PUT", "Groups/{id}", "groups.replace", GROUPS.replace),
    Route("PATCH", "Groups/{id}", "groups.patch", GROUPS.patch),
    Route("DELETE", "Groups/{id}", "groups.delete", GROUPS.delete),
    Route(
        "GET",
        "ServiceProviderConfig",
        "discovery.serviceproviderconfig",
        discovery.service_provider_config,
    ),
    Route("GET", "ResourceTypes", "discovery.resourcetypes", discovery.resource_types),
    Route("GET", "ResourceTypes/{name}", "discovery.resourcetypes", discovery.resource_type),
    Route("GET", "Schemas", "discovery.schemas", discovery.schemas),
    Route("GET", "Schemas/{id}", "discovery.schemas", discovery.schema),
    Route(ANY, "Me", "me", refuse_me),
    Route(ANY, "Me/{id}", "me", refuse_me),
    Route(ANY, "Bulk", "bulk", refuse_bulk),
]


def resolve(method: str, path: str) -> tuple[str, Callable[[Context], HttpResponse]]:
    """The operation name and its handler for a method and path under /scim/v2/. Unknown URLs
    and methods get a handler that answers the SCIM 404/405 — after authentication, so an
    unauthenticated caller learns nothing about the URL space."""
    parts = [p for p in path.split("/") if p]
    matched: list[tuple[Route, dict[str, str]]] = []
    for route in ROUTES:
        values = route.match(parts)
        if values is not None and (not matched or route.path == matched[0][0].path):
            matched.append((route, values))
    if not matched:
        detail = f"There is no SCIM endpoint at /scim/v2/{'/'.join(parts)[:100]}."
        return "unrouted", _refusal(ScimError(404, detail))
    for route, values in matched:
        if route.method in (method.upper(), ANY):
            return route.operation, _bound(route.handler, values)
    allowed = ", ".join(route.method for route, _ in matched)
    return "unrouted", _refusal(
        ScimError(
            405,
            f"{method[:10]} is not allowed here. Allowed: {allowed}.",
            headers={"Allow": allowed},
        )
    )


def _bound(handler: Handler, values: dict[str, str]) -> Callable[[Context], HttpResponse]:
    def run(context: Context) -> HttpResponse:
        return handler(context, **values)

    return run


def _refusal(error: ScimError) -> Callable[[Context], Any]:
    def refuse(context: Context) -> HttpResponse:
        raise error

    return refuse
