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
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import redis.exceptions
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends import redis as django_redis
from django.db import transaction

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


# --- epochs: rows a process keeps, and still sees every change to at once ---

E = TypeVar("E", bound="EpochEntry")


class EpochEntry(Protocol):
    epoch: str
    loaded_at: float  # time.monotonic(), taken before the row was read


class EpochEntries(Generic[E]):
    """Rows this process read, each kept with the epoch (a random token in the shared cache)
    it was read under; a row is used again only while the shared cache still holds that epoch,
    for `max_age` seconds at most (a new epoch lost while the shared cache was unreachable).

    A change to what the rows hold calls `changed()`: this process forgets its entries at once,
    every process once the change commits (a new epoch). apikeys/key_cache.py and
    sso/settings_cache.py say what each keeps and which writes count as changes.
    """

    def __init__(self, epoch_key: str, *, max_age: float, log: logging.Logger, kept: str) -> None:
        self.epoch_key = epoch_key
        self.max_age = max_age
        self.entries: dict[str, E] = {}  # oldest first
        self._log = log
        self._kept = kept  # what the entries are, for the warnings
        self._lock = threading.Lock()  # for writes; a read is one dict lookup
        self._forgets = 0  # how many times this process dropped its entries

    def fresh(self, key: str, epoch: Any) -> E | None:
        """The entry for `key` if it was read under `epoch` (the shared cache's, which the
        caller read) less than max_age seconds ago."""
        entry = self.entries.get(key)
        if entry is None or entry.epoch != epoch:
            return None
        return entry if time.monotonic() - entry.loaded_at < self.max_age else None

    def epoch_to_keep(self, epoch: Any) -> str | None:
        """The epoch a row read now may be kept under: `epoch`, or a new one added when the
        shared cache held none (restarted, evicted); None when another process added one first
        or the shared cache cannot be reached (then nothing is kept)."""
        if isinstance(epoch, str):
            return epoch
        new = secrets.token_hex(16)
        added = when_reachable(
            lambda: caches["default"].add(self.epoch_key, new, timeout=None),
            fallback=False,
            skipped=f"{self._kept} are read from the database for every request",
        )
        return new if added else None

    def reading(self) -> int:
        """Taken before a row is read, handed to `keep`."""
        return self._forgets

    def keep(self, key: str, entry: E, reading: int, max_entries: int) -> None:
        """Keep `entry`, unless this process saw a change since `reading()` (threads)."""
        with self._lock:
            if reading == self._forgets:
                self.entries.pop(key, None)
                if len(self.entries) >= max_entries:
                    del self.entries[next(iter(self.entries))]
                self.entries[key] = entry

    def changed(self, using: str | None = None) -> None:
        """A row the entries hold was written: forget them now (a request on this connection
        sees the change before it commits), and in every process once it commits (a new
        epoch; none when it rolls back)."""
        self.forget()
        transaction.on_commit(self._new_epoch, using=using)

    def forget(self) -> None:
        """Drop this process's entries, and any a request is reading now."""
        with self._lock:
            self.entries.clear()
            self._forgets += 1

    def _new_epoch(self) -> None:
        self.forget()
        try:
            caches["default"].set(self.epoch_key, secrets.token_hex(16), timeout=None)
        except Exception:  # the change is committed: say what it means, don't fail its request
            self._log.exception(
                "Could not set a new epoch at %s: other processes may use the %s they read "
                "before this change for up to %d seconds.",
                self.epoch_key,
                self._kept,
                self.max_age,
            )
