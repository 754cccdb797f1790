"""Bearer-token authentication with API keys: for SCIM views and for the REST API (DRF).

The client address (throttling, last used from, audit) is `core.request_context.client_ip`:
REMOTE_ADDR, or behind the proxies named in FORWARDED_ALLOW_IPS the nearest hop of
X-Forwarded-For they appended — never a hop a client could have written itself.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.audit import Source
from apikeys.models import APIKey
from apikeys.services import AuthenticationFailed, Throttled, authenticate
from apikeys.tokens import KEY_LENGTH
from core.request_context import client_ip

# Anything longer than "Bearer " and a key is refused before it is looked at.
_MAX_HEADER_LENGTH = KEY_LENGTH + 64


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an `Authorization: Bearer …` header; None when there is no such header."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not isinstance(header, str):
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def authenticate_request(request: HttpRequest, *, source: str = Source.API) -> APIKey:
    """The API key of the request's bearer token.

    Raises AuthenticationFailed for a missing header, another scheme, an empty, over-long or
    non-ASCII token, or a key `authenticate()` refuses; Throttled while the client is blocked.
    """
    header = request.META.get("HTTP_AUTHORIZATION")
    if not isinstance(header, str) or len(header) > _MAX_HEADER_LENGTH:
        raise AuthenticationFailed
    token = bearer_token(request)
    if not token:
        raise AuthenticationFailed
    return authenticate(raw_key=token, client_ip=client_ip(request), source=source)


class APIKeyAuthentication(BaseAuthentication):
    """DRF authentication: `request.auth` is the APIKey and `request.user` is None (a key acts
    for its company, not as a person). Permission classes check `request.auth.has_scope(…)`.

    Without a Bearer header it returns None so other authenticators may try; with one, a bad key
    is a 401 (`WWW-Authenticate: Bearer`) and a blocked client a 429 with `Retry-After`.
    """

    def authenticate(self, request: Request) -> tuple[Any, APIKey] | None:
        if bearer_token(request._request) is None:
            return None
        try:
            api_key = authenticate_request(request._request, source=Source.API)
        except AuthenticationFailed:
            raise exceptions.AuthenticationFailed(AuthenticationFailed.message) from None
        except Throttled as throttled:
            raise exceptions.Throttled(wait=throttled.retry_after) from None
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
