"""The shared cache's Redis backend, and how the app serves without it.

Django's RedisCacheClient builds a new `redis.Redis` client on every call (get_client); that
costs more than the round trip to Redis itself (about 200 µs of 300 µs per `cache.get` on the
reference machine). The client is a thin, thread-safe wrapper around its connection pool
(which redis-py resets after a fork), so one per pool serves every call.

Redis is optional for serving: the cache holds counters (throttles, rate limits), the API keys
epoch and list-walk bookmarks, nothing a request needs to be right. So every call has a deadline
(CACHE_CONNECT_TIMEOUT to connect, CACHE_SOCKET_TIMEOUT per reply: a frozen Redis costs a
request about a second, not a worker), and once a call found Redis unreachable, this process
does not try again for CACHE_RETRY_SECONDS: calls fail at once (`CacheUnavailable`) instead of
each waiting for its own timeout. Callers that can do without the cache say what they skip
with `when_reachable`, which logs one warning per kind of skip per CACHE_WARNING_INTERVAL.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis.exceptions
from django.conf import settings
from django.core.cache.backends import redis as django_redis

logger = logging.getLogger("switchboard.cache")

T = TypeVar("T")


class CacheUnavailable(redis.exceptions.ConnectionError):
    """Redis failed a call less than CACHE_RETRY_SECONDS ago: not tried again yet."""


# "Cannot reach Redis" (refused, timed out, closed, still loading, a read-only replica), as
# opposed to a command that is wrong.
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
)

_CLIENT_CALLS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)


def _failing_fast(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: RedisCacheClient, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < self.down_until:
            raise CacheUnavailable("the shared cache failed a call moments ago")
        try:
            return method(self, *args, **kwargs)
        except UNREACHABLE_ERRORS:
            self.down_until = time.monotonic() + settings.CACHE_RETRY_SECONDS
            raise

    return call


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[Any, Any] = {}  # connection pool → client
        self.down_until = 0.0  # time.monotonic() until which calls fail at once

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # django-stubs leave out the private members this overrides around.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


for _name in _CLIENT_CALLS:
    setattr(RedisCacheClient, _name, _failing_fast(getattr(django_redis.RedisCacheClient, _name)))


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", settings.CACHE_CONNECT_TIMEOUT)
        options.setdefault("socket_timeout", settings.CACHE_SOCKET_TIMEOUT)
        super().__init__(server, params)
        self._class = RedisCacheClient


_warned: dict[str, float] = {}  # what was skipped → time.monotonic() of its last warning
_warned_lock = threading.Lock()


def when_reachable(operation: Callable[[], T], *, fallback: T, skipped: str) -> T:
    """`operation()`, or `fallback` when the shared cache cannot be reached: then `skipped`
    says what the request does without it, in a warning logged at most once per
    CACHE_WARNING_INTERVAL seconds per process for each kind of skip."""
    try:
        return operation()
    except UNREACHABLE_ERRORS as error:
        now = time.monotonic()
        with _warned_lock:
            last = _warned.get(skipped)
            due = last is None or now - last >= settings.CACHE_WARNING_INTERVAL
            if due:
                _warned[skipped] = now
        if due:
            logger.warning(
                "The shared cache is unreachable (%s): %s. Said once per %d seconds.",
                type(error).__name__,
                skipped,
                settings.CACHE_WARNING_INTERVAL,
            )
        return fallback
