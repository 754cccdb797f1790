"""Who is calling: an API key with the `scim` scope, of an Enterprise company."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.audit import Source
from apikeys.authentication import authenticate_request
from apikeys.models import APIKey, Scope
from apikeys.services import AuthenticationFailed, Throttled
from provisioning.scim.errors import ScimError

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="SCIM"'}


def authenticate(request: HttpRequest) -> APIKey:
    """The request's API key, or a ScimError: 401 (no or bad key), 429 (client blocked after
    too many failures), 403 (no `scim` scope, or a company without the Enterprise plan)."""
    try:
        key = authenticate_request(request, source=Source.SCIM)
    except Throttled as error:
        retry_after = max(1, int(error.retry_after))
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
    if not key.has_scope(Scope.SCIM):
        raise ScimError(
            403,
            "This API key does not have the 'scim' scope. Create a key with it for your "
            "identity provider.",
        )
    if not key.company.is_enterprise:
        raise ScimError(
            403,
            "SCIM provisioning is an Enterprise feature; this company's plan does not include "
            "it. Contact your account manager to upgrade.",
        )
    return key
