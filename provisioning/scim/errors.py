"""RFC 7644 §3.12 errors: every failure the SCIM door answers is one of these."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse

SCIM_CONTENT_TYPE = "application/scim+json"
SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


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


def scim_error_response(
    *, status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    return scim_json_response(body, status=status, headers=headers)


def error_response(error: ScimError) -> HttpResponse:
    return scim_error_response(
        status=error.status, detail=error.detail, scim_type=error.scim_type, headers=error.headers
    )
