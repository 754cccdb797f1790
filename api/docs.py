"""OpenAPI helpers: the documented error responses of each kind of endpoint."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from api.serializers import ErrorSerializer

ERROR_DESCRIPTIONS = {
    400: "Bad input: an unknown or malformed query parameter or cursor, a body that is not "
    "strict JSON (`parse_error`), or a body of the wrong shape. `field` names it. Nothing "
    "changed.",
    401: "No API key, or one that is unknown, revoked or expired (`WWW-Authenticate: Bearer`).",
    403: "The key lacks the scope this endpoint needs (`missing_scope`; the message names it).",
    404: "No such object in the key's company (another company's id reads the same).",
    409: "The change clashes with the current state: the identity provider owns the attribute "
    "(`idp_owned`), no free seat (`no_free_seats`) or number, already decided "
    "(`already_decided`) … Nothing changed.",
    413: "The body is larger than 1 MB (`too_large`). Nothing changed.",
    415: "The body is not sent as `application/json` (`unsupported_media_type`).",
    429: "Too many requests from this key (or failed authentications from this address); "
    "`Retry-After` says how many seconds to wait.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {
        status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


READ_ERRORS = (400, 401, 403, 429)
RETRIEVE_ERRORS = (400, 401, 403, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 429)

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag from an earlier response: 304 Not Modified when it is still current.",
)


def retrieve_responses(serializer: Any) -> dict[int, Any]:
    return {
        200: serializer,
        304: OpenApiResponse(description="Not modified: the ETag named in If-None-Match."),
        **error_responses(*RETRIEVE_ERRORS),
    }
