"""Middleware for operators: the probe endpoints, and one log line plus metrics per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.health import healthz_view
from core.metrics import metrics_view, record_http_request
from core.request_context import client_ip

request_log = logging.getLogger("switchboard.request")

# Served before anything reads the Host header: a load balancer probes by instance address and
# a scraper by pod address, neither of which is in ALLOWED_HOSTS. That is safe because these
# answers use no host (no links, no redirects, no cookies) and are never cached.
PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz_view,
    "/metrics": metrics_view,
}


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)


class RequestLogMiddleware:
    """Logs each request once (method, path, route, status, duration_ms, client_ip; the request
    id comes from the log filter) and records it in the request metrics. Probes are counted
    but not logged: a load balancer would otherwise fill the log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route = _route(request)
        record_http_request(
            route=route, method=request.method or "", status=response.status_code, seconds=seconds
        )
        if request.path_info not in PROBES:
            duration_ms = round(seconds * 1000, 1)
            request_log.info(
                "%s %s %s %sms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "client_ip": client_ip(request),
                },
            )
        return response


def _route(request: HttpRequest) -> str:
    """The URL pattern, not the path: bounded label values (no ids, no user input)."""
    if request.path_info in PROBES:
        return request.path_info
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return "/" + match.route if match.route else (match.view_name or "<unnamed>")
