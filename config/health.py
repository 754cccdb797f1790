"""`/healthz`: can this process serve? The database answers `SELECT 1`, the broker (and the
shared cache) answer PING — each with a short timeout so a probe never hangs. JSON, no secrets:
check names, "ok"/"unavailable"/"not configured", the error's class name and milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Session-level is fine: it is reset below before the connection serves a request.
            # set_config, not SET: a SET takes no bound parameter (server-side binding).
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                [str(int(CHECK_TIMEOUT_SECONDS * 1000))],
            )
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.execute("RESET statement_timeout")
        else:
            cursor.execute("SELECT 1")


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    # One pooled client per URL per process: a probe costs a PING, not a new connection.
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )


def check_redis(url: str) -> None:
    if not _redis_client(url).ping():
        raise ConnectionError("PING was not answered")


def _broker_check() -> Callable[[], None] | None:
    url = getattr(settings, "CELERY_BROKER_URL", None)
    if not url:
        return None  # tasks run in-process: there is no broker to be down
    if url.startswith(("redis://", "rediss://", "unix://")):
        return lambda: check_redis(url)
    return lambda: _check_kombu(url)


def _check_kombu(url: str) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=CHECK_TIMEOUT_SECONDS) as broker:
        broker.ensure_connection(max_retries=1, timeout=int(CHECK_TIMEOUT_SECONDS))


def _cache_check() -> Callable[[], None] | None:
    url = getattr(settings, "REDIS_URL", None)
    return (lambda: check_redis(url)) if url else None


def run_checks() -> tuple[bool, dict[str, dict[str, Any]]]:
    checks: dict[str, Callable[[], None] | None] = {
        "database": check_database,
        "broker": _broker_check(),
        "cache": _cache_check(),
    }
    results: dict[str, dict[str, Any]] = {}
    healthy = True
    for name, check in checks.items():
        if check is None:
            results[name] = {"status": "not configured"}
            continue
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure is "unavailable"; the class name says which
            healthy = False
            # Django drops a connection that raised once the request ends: the next probe
            # reconnects rather than reusing a dead one.
            results[name] = {"status": "unavailable", "error": type(exc).__name__}
        else:
            results[name] = {"status": "ok"}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return healthy, results


def healthz_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    healthy, checks = run_checks()
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
    response["Cache-Control"] = "no-store"
    return response
