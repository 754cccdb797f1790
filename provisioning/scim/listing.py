"""Lists and searches (RFC 7644 §3.4.2, §3.4.3): GET /Users, /Groups, the root and their
POST …/.search. A list reads top to bottom: its parameters (`ListQuery`), each resource's
filtered and sorted source, a page of each in turn, and where a /Users walk stands (`Walk`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpResponse

from core.cache import when_reachable
from provisioning.scim import schema as s
from provisioning.scim.errors import ScimError, invalid_filter, invalid_value, scim_json_response
from provisioning.scim.filters import AttributeMap, parse_filter, to_q
from provisioning.scim.projection import Projection, members_wanted
from provisioning.scim.queries import resolver, sort_expression
from provisioning.scim.request import Context, param, query_params, search_body

DEFAULT_COUNT = 100
MAX_RESULTS = 200
MAX_START_INDEX = 2**62
# How long the place of a walk through /Users is remembered (see `Walk`).
WALK_SECONDS = 300


@dataclass(frozen=True)
class ListQuery:
    start: int
    count: int
    filter_text: Any
    sort_by: Any
    descending: bool
    attributes: Any
    excluded: Any

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ListQuery:
        # RFC 7644 §3.4.2.4: startIndex < 1 is 1, count < 0 is 0; the cap is advertised.
        start = max(1, _integer(param(params, "startIndex"), "startIndex", 1))
        if start > MAX_START_INDEX:
            # The rows skipped are a bigint in the query: past it, PostgreSQL fails (a 500).
            raise invalid_value(f"startIndex must be at most {MAX_START_INDEX}.")
        count = _integer(param(params, "count"), "count", DEFAULT_COUNT)
        sort_order = str(param(params, "sortOrder") or "ascending").lower()
        if sort_order not in {"ascending", "descending"}:
            raise invalid_value("sortOrder is ascending or descending.")
        return cls(
            start=start,
            count=min(max(0, count), MAX_RESULTS),
            filter_text=param(params, "filter"),
            sort_by=param(params, "sortBy"),
            descending=sort_order == "descending",
            attributes=param(params, "attributes"),
            excluded=param(params, "excludedAttributes"),
        )


def _integer(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_value(f"{name} must be a whole number.") from None


class Listed(Protocol):
    """What a list needs of a resource endpoint (endpoint.ResourceEndpoint)."""

    resource_type: s.ResourceType
    filters: AttributeMap
    sort: dict[str, Any]
    walks: bool

    def queryset(self, context: Context) -> QuerySet[Any]: ...

    def page(
        self, context: Context, queryset: QuerySet[Any], offset: int, limit: int
    ) -> list[dict[str, Any]]: ...

    def direct_source(self, context: Context, query: ListQuery) -> Source | None: ...


class Source(Protocol):
    """One resource's part of a list."""

    @property
    def resource_type(self) -> s.ResourceType: ...

    def page(
        self, offset: int, limit: int, after: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to `limit` bodies, skipping `offset` or starting after the id `after`, and the
        list's size when the page tells it (else None: `count` does)."""
        ...

    def count(self) -> int: ...


@dataclass(frozen=True)
class QuerysetSource:
    endpoint: Listed
    context: Context
    queryset: QuerySet[Any]

    @property
    def resource_type(self) -> s.ResourceType:
        return self.endpoint.resource_type

    def page(
        self, offset: int, limit: int, after: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        if after is not None:
            paged = self.queryset.filter(pk__gt=after)
            return self.endpoint.page(self.context, paged, 0, limit), None
        page = self.endpoint.page(self.context, self.queryset, offset, limit)
        if len(page) < limit and (page or offset == 0):
            # The page ended before it was full: the total is known without counting (not after
            # a keyset start: users deleted before it would be counted in `offset`).
            return page, offset + len(page)
        return page, None

    def count(self) -> int:
        return self.queryset.count()


class Listing:
    """The list of one resource type (GET /Users, POST /Users/.search), or of several (the
    root: Users, then Groups): `get` reads the query, `search` a POST body."""

    def __init__(self, *endpoints: Listed) -> None:
        self.endpoints = endpoints

    def get(self, context: Context) -> HttpResponse:
        return self.answer(context, query_params(context))

    def search(self, context: Context) -> HttpResponse:
        return self.answer(context, search_body(context))

    def answer(self, context: Context, params: dict[str, Any]) -> HttpResponse:
        query = ListQuery.from_params(params)
        context.skip_members = not members_wanted(params)
        # Identity providers read a directory page after page: in the default order, /Users
        # remembers where each page ended so that the next one starts there (keyset, flat at
        # any depth) instead of skipping `offset` rows.
        (first, *others) = self.endpoints
        walk = Walk(context, query) if first.walks and not others and not query.sort_by else None
        resources: list[dict[str, Any]] = []
        total = 0
        offset = query.start - 1
        for source in self._sources(context, query):
            wanted = query.count - len(resources)
            after = walk.continued(query.start) if walk and offset else None
            page, size = source.page(offset, wanted, after) if wanted > 0 else ([], None)
            if walk and page and len(page) == wanted:
                walk.remember(query.start + wanted, int(page[-1]["id"]))
            if size is None:
                size = source.count()
            shown = Projection(source.resource_type, query.attributes, query.excluded)
            resources.extend(shown(body) for body in page)
            offset = max(0, offset - size)
            total += size
        return scim_json_response(
            {
                "schemas": [s.LIST_RESPONSE],
                "totalResults": total,
                "startIndex": query.start,
                "itemsPerPage": len(resources),
                "Resources": resources,
            }
        )

    def _sources(self, context: Context, query: ListQuery) -> list[Source]:
        """Each endpoint's source; an endpoint whose attributes the filter does not have is left
        out of a root search (an error when all are)."""
        if len(self.endpoints) == 1:
            endpoint = self.endpoints[0]
            direct = endpoint.direct_source(context, query)
            return [
                direct or QuerysetSource(endpoint, context, _selected(context, endpoint, query))
            ]
        sources: list[Source] = []
        errors = []
        for endpoint in self.endpoints:
            try:
                queryset = _selected(context, endpoint, query)
            except ScimError as error:
                if error.scim_type != "invalidFilter":
                    raise
                errors.append(error)
                continue
            sources.append(QuerysetSource(endpoint, context, queryset))
        if not sources:
            raise errors[0]
        return sources


def _selected(context: Context, endpoint: Listed, query: ListQuery) -> QuerySet[Any]:
    """The endpoint's resources the filter selects, in the order asked (by id at last, so that
    pages are stable)."""
    queryset = endpoint.queryset(context)
    if query.filter_text not in (None, ""):
        if not isinstance(query.filter_text, str):
            raise invalid_filter("filter must be a string.")
        tree = parse_filter(query.filter_text)
        queryset = queryset.filter(to_q(tree, resolver(endpoint.resource_type, endpoint.filters)))
    if not query.sort_by:
        return queryset.order_by("pk")
    expression = sort_expression(endpoint.resource_type, str(query.sort_by), endpoint.sort)
    ordering = expression.desc() if query.descending else expression.asc()
    return queryset.order_by(ordering, "pk")


class Walk:
    """Where this client's (API key's) last full page of the company's /Users list in the
    default order, with this filter, ended: the startIndex that follows it and the id of its
    last user. Only our own writes set it: the id a keyset page starts after never comes from
    the client.

    Semantics when users change between pages: a page that continues the same client's walk
    exactly where its previous page ended starts right after the last user that page showed,
    so deleting a user before that place skips no one (OFFSET would skip the first user of the
    next page); totalResults is counted on every keyset page. Any other page — another client,
    another filter, a jump, a page read again — is OFFSET's: another walker's place, reached
    through other deletes, is not this one's.
    """

    def __init__(self, context: Context, query: ListQuery) -> None:
        filter_text = query.filter_text if isinstance(query.filter_text, str) else ""
        digest = hashlib.sha256(filter_text.encode()).hexdigest()[:32]
        self.key = f"scim:users-walk:{context.company.pk}:{context.key.pk}:{digest}"

    def continued(self, start: int) -> int | None:
        """The id to start after when `start` is where the client's previous page ended."""
        remembered = when_reachable(
            partial(cache.get, self.key), fallback=None, skipped="SCIM list pages start by offset"
        )
        if not isinstance(remembered, list | tuple) or len(remembered) != 2:
            return None
        following, last_id = remembered
        return int(last_id) if following == start else None

    def remember(self, following: int, last_id: int) -> None:
        when_reachable(
            partial(cache.set, self.key, (following, last_id), WALK_SECONDS),
            fallback=None,
            skipped="SCIM list pages start by offset",
        )
