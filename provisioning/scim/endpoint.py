"""The protocol every SCIM resource endpoint speaks (RFC 7644 §3): GET, POST, PUT, PATCH and
DELETE on /Users and /Groups read the same way top to bottom; each resource fills in the hooks
that say how to read, lock, render and change it (user_endpoint.py, group_endpoint.py).

Writes (PUT, PATCH, DELETE) run in one transaction with the resource read locked: If-Match,
when sent, is compared under the lock (RFC 7644 §3.14), so of several clients holding one
version exactly one writes and the others get 412; without it (Okta and Entra send none) the
write applies to the resource as it stands under the lock, so concurrent writes take turns and
none is computed from a copy another one has changed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse

from provisioning.scim import conditions
from provisioning.scim import schema as s
from provisioning.scim.changes import normalize_body
from provisioning.scim.errors import ScimError, scim_json_response
from provisioning.scim.filters import AttributeMap
from provisioning.scim.listing import ListQuery, Source
from provisioning.scim.patch import apply_patch, parse_operations
from provisioning.scim.projection import members_wanted, project
from provisioning.scim.request import Context, param, query_params, read_json
from provisioning.scim.values import resource_pk

Body = dict[str, Any]


class ResourceEndpoint(ABC):
    resource_type: s.ResourceType
    filters: AttributeMap  # queries.py: what `filter` may compare
    sort: dict[str, Any]  # queries.py: what `sortBy` may name
    # Whether a list in the default order remembers where each page ended (listing.Walk).
    walks = False

    # --- hooks: reads ---

    @abstractmethod
    def queryset(self, context: Context) -> QuerySet[Any]:
        """What filters and pages select from: the company's resources."""

    @abstractmethod
    def page(
        self, context: Context, queryset: QuerySet[Any], offset: int, limit: int
    ) -> list[Body]:
        """The bodies of a page of `queryset`."""

    def direct_source(self, context: Context, query: ListQuery) -> Source | None:
        """A list this resource answers by a statement of its own, or None (the queryset's)."""
        return None

    @abstractmethod
    def read(self, context: Context, pk: int) -> Body | None:
        """The body GET answers (and a write answers after it), or None."""

    # --- hooks: writes ---

    @abstractmethod
    def lock(self, context: Context, pk: int) -> Any | None:
        """The resource a write changes, read locked in the write's transaction, or None."""

    @abstractmethod
    def render(self, context: Context, resource: Any) -> Body:
        """The body of a resource `lock` (or a read) loaded."""

    @abstractmethod
    def create_from(self, context: Context, body: Body) -> tuple[Body, int]:
        """Create from a normalized body: the body to answer and its status (201 or 202)."""

    @abstractmethod
    def change(
        self, context: Context, resource: Any, current: Body, wanted: Body
    ) -> tuple[Body, int]:
        """Change a locked resource from its body `current` to `wanted`: the body to answer and
        its status (200 or 202)."""

    @abstractmethod
    def remove(self, context: Context, resource: Any) -> Body | None:
        """Delete a locked resource: None, or the body to answer 202 with when it waits."""

    def apply_operations(
        self, current: Body, resource: Any, operations: list[dict[str, Any]]
    ) -> Body:
        """A PATCH's operations applied to the resource's body."""
        return apply_patch(current, operations, self.resource_type)

    # --- the protocol ---

    def get(self, context: Context, id: str) -> HttpResponse:
        context.skip_members = not members_wanted(query_params(context))
        pk = resource_pk(id)
        body = self.read(context, pk) if pk is not None else None
        if body is None:
            raise self._not_found(id)
        if conditions.not_modified(context.request, body["meta"]["version"]):
            return scim_json_response(None, 304, {"ETag": body["meta"]["version"]})
        return self.respond(context, body)

    def create(self, context: Context) -> HttpResponse:
        body = normalize_body(read_json(context.request), self.resource_type)
        return self.respond(context, *self.create_from(context, body))

    @transaction.atomic
    def replace(self, context: Context, id: str) -> HttpResponse:
        resource, current = self._locked(context, id)
        raw = read_json(context.request)
        body = normalize_body(raw, self.resource_type)
        if isinstance(raw, dict) and raw.get("id") not in (None, str(resource.pk), resource.pk):
            raise ScimError(400, "id cannot be changed (it is immutable).", "mutability")
        return self.respond(context, *self.change(context, resource, current, body))

    @transaction.atomic
    def patch(self, context: Context, id: str) -> HttpResponse:
        resource, current = self._locked(context, id)
        operations = parse_operations(read_json(context.request))
        wanted = self.apply_operations(current, resource, operations)
        return self.respond(context, *self.change(context, resource, current, wanted))

    @transaction.atomic
    def delete(self, context: Context, id: str) -> HttpResponse:
        resource, _current = self._locked(context, id)
        waiting = self.remove(context, resource)
        if waiting is not None:
            return self.respond(context, waiting, 202)
        return HttpResponse(status=204)

    def _locked(self, context: Context, id: str) -> tuple[Any, Body]:
        """The resource locked and its body, If-Match compared with it."""
        pk = resource_pk(id)
        resource = self.lock(context, pk) if pk is not None else None
        if resource is None:
            raise self._not_found(id)
        current = self.render(context, resource)
        conditions.check_if_match(context.request, current)
        return resource, current

    def _not_found(self, id: str) -> ScimError:
        return ScimError(404, f"{self.resource_type.name} {id[:40]} not found.")

    def respond(self, context: Context, body: Body, status: int = 200) -> HttpResponse:
        params = query_params(context)
        headers = {"ETag": body["meta"]["version"]}
        if status == 201:
            headers["Location"] = body["meta"]["location"]
        shown = project(
            body,
            self.resource_type,
            param(params, "attributes"),
            param(params, "excludedAttributes"),
        )
        return scim_json_response(shown, status, headers)
