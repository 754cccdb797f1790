"""A request id for every request: in the `X-Request-ID` response header, every log line and
every AuditEvent written while the request runs — and the client's address for those events."""

import contextlib
import functools
import ipaddress
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
# The address of the client whose request is running, worked out only when an event asks for it.
current_client_ip: ContextVar[Callable[[], str | None]] = ContextVar(
    "current_client_ip", default=lambda: None
)

# A client may hand us its own id (a load balancer's); only a short, plain token is trusted.
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        token = current_request_id.set(request_id)
        ip_token = current_client_ip.set(functools.cache(lambda: valid_ip(client_ip(request))))
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
            current_client_ip.reset(ip_token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        return True


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or — when that is a trusted proxy (the same
    `FORWARDED_ALLOW_IPS` gunicorn trusts) — the nearest untrusted hop of X-Forwarded-For.
    Only hops our own proxies appended are believed; a client can prepend anything."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if not _is_trusted_proxy(remote):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_trusted_proxy(hop):
            return hop
    return hops[0] if hops and hops[0] else remote


def valid_ip(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _trusted_proxies() -> tuple[bool, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    return _parse_proxies(tuple(getattr(settings, "FORWARDED_ALLOW_IPS", [])))


@functools.cache
def _parse_proxies(
    entries: tuple[str, ...],
) -> tuple[bool, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    # Parsed once per setting's value, not per request: parsing took 0.3 ms of every request.
    if "*" in entries:
        return True, ()
    networks = []
    for entry in entries:
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(entry, strict=False))
    return False, tuple(networks)


def _is_trusted_proxy(address: str) -> bool:
    trust_all, networks = _trusted_proxies()
    if trust_all:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
