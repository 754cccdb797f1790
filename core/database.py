"""How long PostgreSQL may take: per kind of work, on the server and on the client.

- On the server: each connection runs with the `statement_timeout` of the work it does now —
  DB_STATEMENT_TIMEOUT for requests (SCIM, the REST API, sign-in), DB_CONSOLE_STATEMENT_TIMEOUT
  for the admin console (/admin/: lists, exports and bulk actions read more rows),
  DB_TASK_STATEMENT_TIMEOUT for Celery tasks — and DB_LOCK_TIMEOUT for any lock. Set once per
  connection and again only when the next piece of work is of another kind (no round trip on
  the hot path). Management commands (migrate, scripts) keep the server's defaults.
- On the client: a server that does not answer at all (frozen, a dead host behind a live
  network path) never cancels anything, and the socket waits forever. So a request's
  connection is shut down once the request has run its kind's statement timeout plus
  DB_DEADLINE_MARGIN: the blocked call fails (OperationalError) and the request answers 503
  (core/faults.py). Connecting is bounded by DB_CONNECT_TIMEOUT (libpq).

A request whose database does not answer thus costs at most its statement timeout, the margin
and one connect timeout: 5 + 1 + 3 s for SCIM and the REST API with the defaults.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("switchboard.database")

REQUEST = "request"
CONSOLE = "console"
TASK = "task"
_SETTINGS = {
    REQUEST: "DB_STATEMENT_TIMEOUT",
    CONSOLE: "DB_CONSOLE_STATEMENT_TIMEOUT",
    TASK: "DB_TASK_STATEMENT_TIMEOUT",
}
CONSOLE_PATH_PREFIX = "/admin/"

# The kind of work this thread does now: None outside requests and tasks (commands).
_kind: contextvars.ContextVar[str | None] = contextvars.ContextVar("db_work_kind", default=None)


def statement_timeout(kind: str) -> float:
    """Seconds a statement of this kind of work may run on the server."""
    return float(getattr(settings, _SETTINGS[kind]))


def _apply(wrapper: BaseDatabaseWrapper, kind: str) -> None:
    with wrapper.cursor() as cursor:
        # set_config, not SET: SET takes no bound parameter (server-side binding).
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false), "
            "set_config('lock_timeout', %s, false)",
            [
                str(int(statement_timeout(kind) * 1000)),
                str(int(float(settings.DB_LOCK_TIMEOUT) * 1000)),
            ],
        )
    wrapper.switchboard_timeouts = kind  # type: ignore[attr-defined]


def use_timeouts(kind: str, alias: str = "default") -> None:
    """The connection's statements from now on run with `kind`'s timeouts: set now when it is
    connected with another kind's, else when it connects."""
    _kind.set(kind)
    wrapper = connections[alias]
    if wrapper.vendor != "postgresql" or wrapper.connection is None:
        return
    if getattr(wrapper, "switchboard_timeouts", None) != kind and not wrapper.in_atomic_block:
        _apply(wrapper, kind)


def _on_connect(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    kind = _kind.get()
    connection.switchboard_timeouts = None  # type: ignore[attr-defined]
    if connection.vendor == "postgresql" and kind is not None:
        _apply(connection, kind)


connection_created.connect(_on_connect, dispatch_uid="core.database.timeouts")


# --- the client-side deadline ---


class _Watchdog:
    """One thread shutting down the sockets of connections whose deadline passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, BaseDatabaseWrapper]] = []
        self._armed: set[int] = set()
        self._ids = itertools.count()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def arm(self, wrapper: BaseDatabaseWrapper, seconds: float) -> int:
        with self._lock:
            if self._thread is None or self._pid != os.getpid():  # none yet, or forked
                self._heap, self._armed, self._pid = [], set(), os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="database-deadlines", daemon=True
                )
                self._thread.start()
            token = next(self._ids)
            heapq.heappush(self._heap, (time.monotonic() + seconds, token, wrapper))
            self._armed.add(token)
            if self._heap[0][1] == token:  # else the thread already wakes up earlier
                self._lock.notify()
        return token

    def disarm(self, token: int) -> None:
        with self._lock:
            self._armed.discard(token)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._heap:
                    self._lock.wait()
                when, token, wrapper = self._heap[0]
                wait = when - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if token not in self._armed:
                    continue
                self._armed.discard(token)
            _shut_down(wrapper)


def _shut_down(wrapper: BaseDatabaseWrapper) -> None:
    raw = wrapper.connection
    if raw is None:
        return
    try:
        fd = raw.pgconn.socket
        # A duplicate of the descriptor: shutdown() acts on the socket both name, and closing
        # the duplicate leaves psycopg's own descriptor to psycopg.
        with socket.socket(fileno=socket.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # already closed, or not a psycopg connection: nothing is waiting on it
        return
    logger.warning(
        "PostgreSQL did not answer within the request's deadline: its connection was shut down"
    )


_watchdog = _Watchdog()


@contextmanager
def deadline(seconds: float, alias: str = "default") -> Iterator[None]:
    """Within this block, a call on the connection that is still waiting for PostgreSQL after
    `seconds` fails (its socket is shut down)."""
    wrapper = connections[alias]
    if wrapper.vendor != "postgresql" or wrapper.in_atomic_block:
        # Inside a transaction its caller owns (a test's), the caller's deadline applies.
        yield
        return
    token = _watchdog.arm(wrapper, seconds)
    try:
        yield
    finally:
        _watchdog.disarm(token)


def request_kind(request: HttpRequest) -> str:
    return CONSOLE if request.path_info.startswith(CONSOLE_PATH_PREFIX) else REQUEST


class DatabaseTimeoutsMiddleware:
    """Each request runs with its kind's statement and lock timeouts, under a client-side
    deadline of the statement timeout plus DB_DEADLINE_MARGIN."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        kind = request_kind(request)
        seconds = statement_timeout(kind) + float(settings.DB_DEADLINE_MARGIN)
        with deadline(seconds):
            use_timeouts(kind)
            return self.get_response(request)
