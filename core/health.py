"""`/healthz`: can this process serve? The database answers `SELECT 1`, the broker (and the
shared cache) answer PING. JSON, no secrets: check names, "ok"/"unavailable"/"not configured",
the error's class name and milliseconds.

The checks run side by side, each in a thread of its own with its own short timeouts (the
database check on a connection of its own), and the answer waits for them at most
CHECK_TIMEOUT_SECONDS: a check still running then is "unavailable" with error "Timeout". So a
probe answers within CHECK_TIMEOUT_SECONDS (plus a few milliseconds) whatever hangs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.database import deadline

CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> None:
    # On this thread's connection, closed afterwards: the probe neither waits for a request's
    # connection nor leaves one of its own open. A server that does not answer has its socket
    # shut down at the deadline, so the thread ends too (core/database.py).
    try:
        with deadline(CHECK_TIMEOUT_SECONDS):
            _select_one()
    finally:
        connection.close()


def _select_one() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Session-level is fine: the connection is closed after the check.
            # set_config, not SET: a SET takes no bound parameter (server-side binding).
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                [str(int(CHECK_TIMEOUT_SECONDS * 1000))],
            )
            cursor.execute("SELECT 1")
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


def _run(check: Callable[[], None], results: dict[str, Any]) -> None:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure is "unavailable"; the class name says which
        results.update(status="unavailable", error=type(exc).__name__)
    else:
        results["status"] = "ok"
    results["ms"] = round((time.perf_counter() - started) * 1000, 1)


def run_checks() -> tuple[bool, dict[str, dict[str, Any]]]:
    checks: dict[str, Callable[[], None] | None] = {
        "database": check_database,
        "broker": _broker_check(),
        "cache": _cache_check(),
    }
    results: dict[str, dict[str, Any]] = {}
    threads: dict[str, threading.Thread] = {}
    started = time.perf_counter()
    for name, check in checks.items():
        results[name] = {}
        if check is None:
            results[name]["status"] = "not configured"
            continue
        threads[name] = threading.Thread(
            target=_run, args=(check, results[name]), name=f"healthz-{name}", daemon=True
        )
        threads[name].start()
    deadline_at = started + CHECK_TIMEOUT_SECONDS
    for name, thread in threads.items():
        thread.join(max(0.0, deadline_at - time.perf_counter()))
        if thread.is_alive() or "status" not in results[name]:
            # Still waiting: it ends by its own timeouts; this answer does not wait for it.
            results[name] = {
                "status": "unavailable",
                "error": "Timeout",
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
    healthy = all(result["status"] in ("ok", "not configured") for result in results.values())
    return healthy, {name: dict(result) for name, result in results.items()}


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
