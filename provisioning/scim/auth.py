"""Who is calling: an API key with the `scim` scope, of an Enterprise company."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.audit import Source
from provisioning.scim.errors import ScimError

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="SCIM"'}


def authenticate(request: HttpRequest) -> Any:
    key = key_for_request(request)
    if not key.has_scope("scim"):
        raise ScimError(403, "This API key does not have the 'scim' scope.")
    if not key.company.is_enterprise:
        raise ScimError(
            403,
            "SCIM provisioning is an Enterprise feature; this company's plan does not include "
            "it. Contact your account manager to upgrade.",
        )
    return key


def key_for_request(request: HttpRequest) -> Any:
    from apikeys.authentication import authenticate_request
    from apikeys.services import AuthenticationFailed, Throttled

    try:
        key = authenticate_request(request, source=Source.SCIM)
    except Throttled as error:
        retry_after = max(1, int(getattr(error, "retry_after", 1) or 1))
        raise ScimError(
            429,
            f"Too many failed attempts. Retry in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        ) from None
    except AuthenticationFailed:
        raise ScimError(
            401,
            "Send a valid API key as 'Authorization: Bearer <key>'. Create one under Admin "
            "Settings › My Company › Authentication › API Keys.",
            headers=UNAUTHORIZED_HEADERS,
        ) from None
    return key
