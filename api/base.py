"""What every API endpoint shares: API-key authentication, scopes, per-key rate limits, the
one error shape, JSON only, the key's company as the tenant, and ETags on retrieve."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Never

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, QuerySet
from django.utils.http import parse_etags
from rest_framework import exceptions, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit import Source
from accounts.models import Company
from api import errors
from api.errors import APIError
from api.filters import MAX_ID, QueryFilter, apply_filters, reject_unknown_params
from api.pagination import KeysetPagination
from api.parsers import StrictJSONParser
from api.permissions import HasKeyScope
from api.throttling import APIKeyRateThrottle
from apikeys.authentication import APIKeyAuthentication
from apikeys.models import APIKey

SOURCE = Source.API


class CompanyViewSet(viewsets.GenericViewSet):
    authentication_classes = [APIKeyAuthentication]
    permission_classes = [HasKeyScope]
    throttle_classes = [APIKeyRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [StrictJSONParser]
    pagination_class = KeysetPagination
    # The singular noun in "No <noun> with id …" messages.
    noun = "object"
    query_filters: tuple[QueryFilter, ...] = ()
    required_scopes: dict[str, str] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, scope, rate limit
        if self.action != "list":
            reject_unknown_params(request, ())

    def get_exception_handler(self) -> Any:
        return errors.exception_handler

    def throttled(self, request: Request, wait: float | None) -> Never:
        seconds = int(wait or 1)
        raise exceptions.Throttled(
            wait=wait,
            detail=f"This API key made too many requests. Try again in {seconds} seconds.",
        )

    @property
    def api_key(self) -> APIKey:
        key = self.request.auth
        if not isinstance(key, APIKey):  # HasKeyScope runs first; this is belt and braces
            raise exceptions.NotAuthenticated()
        return key

    @property
    def company(self) -> Company:
        return self.api_key.company

    def scoped(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Tenancy at the edge: only the key's company's rows, ever."""
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the models
            return queryset.none()
        return queryset.filter(company=self.company)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset
        return apply_filters(queryset, self.request, self.query_filters, paginated=True)

    def get_object(self) -> Any:
        raw = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        pk = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None
        obj = self.get_queryset().filter(pk=pk).first() if pk is not None else None
        if obj is None:
            # Another company's id reads exactly like an id that does not exist.
            raise APIError(404, f"No {self.noun} with id {raw[:20]}.", code="not_found")
        return obj

    def reload(self, obj: Model) -> Any:
        """A fresh copy for the response (services return their own objects)."""
        return self.get_queryset().get(pk=obj.pk)


def etag_for(data: Any) -> str:
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class ETagRetrieveMixin:
    """`GET …/{id}` answers with an ETag; `If-None-Match` naming it gets 304 and no body."""

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()  # type: ignore[attr-defined]
        data = self.get_serializer(instance).data  # type: ignore[attr-defined]
        return conditional_response(request, data)


def conditional_response(request: Request, data: Any) -> Response:
    etag = etag_for(data)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    if "*" in wanted or etag in wanted or f"W/{etag}" in wanted:
        return Response(status=304, headers=headers)
    return Response(data, headers=headers)
