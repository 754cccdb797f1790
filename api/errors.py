"""The API's one error shape: `{"error": {"code": …, "message": …, "field": …}}`.

Every failure of `/api/v1/` answers with it: domain refusals (DomainError and its NotFound and
Conflict), DRF's own exceptions (validation, parse, authentication, scope, throttling, method,
media type) and unknown URLs. `code` is stable and machine-readable, `message` is written for the
person running the script, `field` names the input at fault (a body field, a query parameter)
or is null.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.errors import Conflict, DomainError, NotFound

# DomainError codes that describe a clash with the current state rather than bad input.
CONFLICT_CODES = frozenset({"conflict", "already_decided", "no_free_seats", "idp_owned"})


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def domain_status(error: DomainError) -> int:
    if isinstance(error, NotFound) or error.code == "not_found":
        return status.HTTP_404_NOT_FOUND
    if isinstance(error, Conflict) or error.code in CONFLICT_CODES:
        return status.HTTP_409_CONFLICT
    return status.HTTP_400_BAD_REQUEST


class APIError(exceptions.APIException):
    """A refusal of the API edge itself, with its field: `raise APIError(400, "…", field="x")`."""

    def __init__(self, status_code: int, message: str, *, code: str, field: str | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.field = field


def _flatten(detail: Any, prefix: str = "") -> list[tuple[str | None, str, str]]:
    """(field path, message, code) for every leaf of a DRF error detail."""
    if isinstance(detail, dict):
        leaves: list[tuple[str | None, str, str]] = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "detail") else str(key)
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            leaves.extend(_flatten(value, path))
        return leaves
    if isinstance(detail, list):
        leaves = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            leaves.extend(_flatten(value, f"{prefix}[{index}]" if nested else prefix))
        return leaves
    code = getattr(detail, "code", None) or "invalid"
    return [(prefix or None, str(detail), str(code))]


def _validation_body(detail: Any) -> dict[str, Any]:
    leaves = _flatten(detail) or [(None, "The request is invalid.", "invalid")]
    field, message, _code = leaves[0]
    if len(leaves) > 1:
        message = " ".join(f"{name}: {text}" if name else text for name, text, _ in leaves[:10]) + (
            f" (and {len(leaves) - 10} more)" if len(leaves) > 10 else ""
        )
    return error_body("invalid", message, field)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER for the API views (set on the base view, not globally: SCIM and
    the admin keep their own error formats)."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.field), status=domain_status(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # an unexpected error: Django's 500 handling (logged, no details leak)
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
        return response
    detail = exc.detail
    if isinstance(detail, dict | list):
        response.data = _validation_body(detail)
        response.data["error"]["code"] = _code_of(exc)
        return response
    field = getattr(exc, "field", None)
    response.data = error_body(_code_of(exc), str(detail), field)
    return response


def _code_of(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.Throttled):
        return "rate_limited"
    code = getattr(exc.detail, "code", None) or exc.default_code
    return str(code)


@csrf_exempt  # an API path, never a form: answer 404 in the error shape, not a CSRF page
def not_found_view(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any path under /api/v1/ that names no endpoint."""
    return JsonResponse(
        error_body(
            "not_found",
            f"There is no API endpoint at {request.path[:200]}. "
            "See /api/v1/docs/ for the endpoints.",
        ),
        status=404,
    )
