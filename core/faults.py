"""When PostgreSQL is unreachable: 503 with Retry-After, never a 500 or a half-written change.

Services own their transactions, so a connection lost mid-change rolls the whole change back;
what is left is to answer the client with something it will retry. A door that speaks its own
error dialect registers how it says "unavailable" (`register_unavailable_response`, from its
AppConfig.ready()): SCIM clients (OneLogin, Okta, Entra) retry on 503 and read an RFC 7644 §3.12
error body under /scim/v2/; the REST API answers its error shape under /api/. How long a request
waits for an unresponsive database first: core/database.py.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html
from django.views import defaults

logger = logging.getLogger("switchboard.faults")

RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE = "The database is unavailable. Retry later."

# The errors that mean "the database cannot be reached", not "this statement is wrong".
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)

# Path prefix → the door's own 503 body for a detail message; registered by the doors.
UnavailableResponse = Callable[[str], HttpResponse]
_DOOR_RESPONSES: dict[str, UnavailableResponse] = {}


def register_unavailable_response(path_prefix: str, respond: UnavailableResponse) -> None:
    """Requests under `path_prefix` get `respond(detail)` (status 503) when the database is down."""
    _DOOR_RESPONSES[path_prefix] = respond


def service_unavailable(request: HttpRequest, detail: str = DATABASE_UNAVAILABLE) -> HttpResponse:
    """503 + Retry-After, in the dialect of the door the request came through."""
    door = next(
        (
            respond
            for prefix, respond in _DOOR_RESPONSES.items()
            if request.path_info.startswith(prefix)
        ),
        None,
    )
    response: HttpResponse
    if door is not None:
        response = door(detail)
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
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
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
