"""Strict query parameters for list endpoints.

A view declares its filters (`query_filters`): each parses its raw value (a bad value is a 400
naming the parameter) and narrows the queryset. A parameter no filter, the cursor or the page
size knows is a 400 too — a typo must not silently return everything. The same declarations
document the parameters in the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from api.errors import APIError
from api.pagination import MAX_PAGE_SIZE

MAX_ID = 2**63 - 1
PAGINATION_PARAMS = ("cursor", "page_size")


def _bad(name: str, message: str) -> APIError:
    return APIError(400, message, code="invalid", field=name)


def parse_id(name: str, raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise _bad(name, f"{name} must be a positive whole number (an id).")
    return int(raw)


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise _bad(name, f"{name} must be true or false.")


def parse_datetime_param(name: str, raw: str) -> datetime:
    try:
        moment = parse_datetime(raw.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise _bad(name, f"{name} must be an ISO 8601 date and time, like 2025-01-31T09:00:00Z.")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class QueryFilter:
    name: str
    description: str
    apply: Callable[[QuerySet[Any], Any, Request], QuerySet[Any]]
    kind: str = "string"  # string | id | bool | datetime | choice
    choices: Sequence[str] = field(default_factory=tuple)
    max_length: int = 200

    def parse(self, raw: str) -> Any:
        if self.kind == "id":
            return parse_id(self.name, raw)
        if self.kind == "bool":
            return parse_bool(self.name, raw)
        if self.kind == "datetime":
            return parse_datetime_param(self.name, raw)
        if self.kind == "choice":
            if raw not in self.choices:
                raise _bad(
                    self.name,
                    f"'{raw[:50]}' is not a {self.name}. Use one of: {', '.join(self.choices)}.",
                )
            return raw
        value = raw.strip()
        if not value or len(value) > self.max_length or "\x00" in value:
            raise _bad(self.name, f"{self.name} must be 1–{self.max_length} characters.")
        return value

    def parameter(self) -> OpenApiParameter:
        types = {
            "id": OpenApiTypes.INT64,
            "bool": OpenApiTypes.BOOL,
            "datetime": OpenApiTypes.DATETIME,
        }
        return OpenApiParameter(
            self.name,
            types.get(self.kind, OpenApiTypes.STR),
            OpenApiParameter.QUERY,
            description=self.description,
            enum=list(self.choices) if self.kind == "choice" else None,
        )


def reject_unknown_params(request: Request, allowed: Sequence[str]) -> None:
    """400 for a query parameter the endpoint does not take, or one given twice."""
    for name in request.query_params:
        if name not in allowed:
            listed = ", ".join(sorted(allowed)) or "no query parameters"
            raise _bad(
                name[:50], f"Unknown query parameter '{name[:50]}'. This endpoint takes: {listed}."
            )
        if len(request.query_params.getlist(name)) > 1:
            raise _bad(name, f"Give {name} once.")


def apply_filters(
    queryset: QuerySet[Any], request: Request, filters: Sequence[QueryFilter], *, paginated: bool
) -> QuerySet[Any]:
    known = {item.name: item for item in filters}
    reject_unknown_params(request, [*known, *(PAGINATION_PARAMS if paginated else ())])
    for name, item in known.items():
        raw = request.query_params.get(name)
        if raw is not None:
            queryset = item.apply(queryset, item.parse(raw), request)
    return queryset


def pagination_parameters() -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "cursor",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            description="Opaque position from a previous response's `next` or `previous` link.",
        ),
        OpenApiParameter(
            "page_size",
            OpenApiTypes.INT,
            OpenApiParameter.QUERY,
            description=f"Items per page, 1–{MAX_PAGE_SIZE} (default 50).",
        ),
    ]
