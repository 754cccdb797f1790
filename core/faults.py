"""When PostgreSQL is unreachable: 503 with Retry-After, never a 500 or a half-written change.

Services own their transactions, so a connection lost mid-change rolls the whole change back;
what is left is to answer the client with something it will retry. SCIM clients (OneLogin, Okta,
Entra) retry on 503 and read an RFC 7644 §3.12 error body, so under /scim/v2/ the body is one;
under /api/ it is the REST API's error shape (`{"error": {"code": "unavailable", …}}`). How long
a request waits for an unresponsive database first: core/database.py.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html
from django.views import defaults

logger = logging.getLogger("switchboard.faults")

RETRY_AFTER_SECONDS = 30
SCIM_PATH_PREFIX = "/scim/v2/"
API_PATH_PREFIX = "/api/"
SCIM_CONTENT_TYPE = "application/scim+json"
SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
DATABASE_UNAVAILABLE = "The database is unavailable. Retry later."

# The errors that mean "the database cannot be reached", not "this statement is wrong".
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def scim_error_response(
    *, status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> HttpResponse:
    """An RFC 7644 §3.12 error: for the SCIM app's own errors too."""
    body: dict[str, object] = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    response = HttpResponse(json.dumps(body), status=status, content_type=SCIM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def service_unavailable(request: HttpRequest, detail: str = DATABASE_UNAVAILABLE) -> HttpResponse:
    """503 + Retry-After, in the dialect of the door the request came through."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if request.path_info.startswith(SCIM_PATH_PREFIX):
        return scim_error_response(status=503, detail=detail, headers=headers)
    if request.path_info.startswith(API_PATH_PREFIX):
        from api.errors import error_body  # the REST API's one error shape

        response: HttpResponse = JsonResponse(error_body("unavailable", detail), status=503)
    elif "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": detail}, status=503)
    else:
        response = HttpResponse(
            format_html(
                "<!doctype html><title>Service unavailable</title>"
                "<h1>Service unavailable</h1><p>{}</p>",
                detail,
            ),
            status=503,
            content_type="text/html; charset=utf-8",
        )
    for name, value in headers.items():
        response[name] = value
    return response


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection raised by a view into a 503 (see `server_error` for the
    ones raised by middleware, e.g. while saving a session)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE_ERRORS):
            logger.warning(
                "Database unavailable: %s %s answered 503 (%s)",
                request.method,
                request.path,
                type(exception).__name__,
            )
            return service_unavailable(request)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the database errors that escaped the views still become a 503."""
    exception = sys.exception()
    if isinstance(exception, UNAVAILABLE_ERRORS):
        return service_unavailable(request)
    return defaults.server_error(request)
