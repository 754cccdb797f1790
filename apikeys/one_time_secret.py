"""Carry a new key from the POST that made it to the one GET that shows it, readable only there.

The session (in the database) holds the key XOR-ed with a one-time pad; the pad travels only in
an HttpOnly, SameSite=Strict cookie scoped to the page that shows the key. Neither half alone
says anything about the key (a one-time pad), so the database never holds a readable key, and
the first GET takes both halves: a reload, a second tab or a stolen session finds nothing.
"""

from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

SESSION_KEY = "api_key_once"
COOKIE = "api_key_once"
MAX_AGE = 600  # seconds: long enough to follow the redirect, short enough to be gone after


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def _cookie_path(request: HttpRequest, response: HttpResponse) -> str:
    return response["Location"] if response.has_header("Location") else request.path


def hand_over(
    request: HttpRequest, response: HttpResponse, *, key_id: int, secret: str
) -> HttpResponse:
    """Store `secret` for the page `response` redirects to (and nowhere readable)."""
    data = secret.encode()
    pad = secrets.token_bytes(len(data))
    request.session[SESSION_KEY] = {
        "key_id": key_id,
        "cipher": base64.urlsafe_b64encode(_xor(data, pad)).decode(),
    }
    response.set_cookie(
        COOKIE,
        base64.urlsafe_b64encode(pad).decode(),
        max_age=MAX_AGE,
        path=_cookie_path(request, response),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


def take(request: HttpRequest, *, key_id: int) -> str | None:
    """The secret, once: both halves are dropped whatever the answer."""
    stored = request.session.pop(SESSION_KEY, None)
    pad_text = request.COOKIES.get(COOKIE, "")
    if not isinstance(stored, dict) or stored.get("key_id") != key_id or not pad_text:
        return None
    try:
        cipher = base64.urlsafe_b64decode(str(stored.get("cipher", "")))
        pad = base64.urlsafe_b64decode(pad_text)
        return _xor(cipher, pad).decode()
    except (ValueError, UnicodeDecodeError):  # a tampered or truncated cookie
        return None


def forget(request: HttpRequest, response: HttpResponse) -> None:
    """Drop the pad from the browser (the session half is gone already)."""
    response.delete_cookie(COOKIE, path=request.path, samesite="Strict")
