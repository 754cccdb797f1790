"""RFC 7644 §3.12 errors: every failure the SCIM door answers is one of these."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse

from core.faults import SCIM_CONTENT_TYPE, scim_error_response


class ScimError(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        scim_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def invalid_path(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidPath")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidSyntax")


def scim_json_response(
    body: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    content = b"" if body is None else orjson.dumps(body)
    response = HttpResponse(content, status=status, content_type=SCIM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: ScimError) -> HttpResponse:
    return scim_error_response(
        status=error.status, detail=error.detail, scim_type=error.scim_type, headers=error.headers
    )
