"""Throttling of failed authentications, counted in the shared cache.

The cache is Redis in production and tests (one store for every web process and node) and a
database table in the quickstart: never process memory, so a client cannot spread its guesses
over processes. Each throttle names its key namespace, its settings and what it counts against:
a client address (IPv6 per /64, the block one subscriber usually holds) or an account.

A throttle whose store cannot be reached is not kept: nobody is blocked and nothing is
counted, with one warning per CACHE_WARNING_INTERVAL (core/cache.py: when_reachable). A
throttle guards against floods and guessing; refusing everyone while Redis is down would turn a
cache outage into a sign-in and provisioning outage.
"""

from __future__ import annotations

import ipaddress
import math
import time
from typing import ClassVar

from django.conf import settings
from django.core.cache import BaseCache, caches

from core.cache import when_reachable


def client_bucket(ip: str) -> str:
    """The address failures are counted against: the IPv4 address, or the IPv6 /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


class FailureThrottle:
    """`limit` failures within `window` seconds against one subject block it for `block` seconds.

    A subclass names its cache key namespace and the settings holding limit, window and block;
    by default the subject is a client address, counted per `client_bucket`.
    """

    namespace: ClassVar[str]
    limit_setting: ClassVar[str]
    window_setting: ClassVar[str]
    block_setting: ClassVar[str]

    def __init__(self, cache: BaseCache | None = None) -> None:
        self._cache = cache
        self.limit: int = getattr(settings, self.limit_setting)
        self.window: int = getattr(settings, self.window_setting)
        self.block: int = getattr(settings, self.block_setting)

    @property
    def cache(self) -> BaseCache:
        return self._cache if self._cache is not None else caches["default"]

    def bucket(self, subject: str) -> str:
        return client_bucket(subject)

    def _keys(self, subject: str) -> tuple[str, str]:
        bucket = self.bucket(subject)
        return f"{self.namespace}:auth-failures:{bucket}", f"{self.namespace}:auth-blocked:{bucket}"

    def blocked_key(self, subject: str) -> str:
        """The cache key holding when the subject's block ends: to read it with other keys in
        one round trip (`wait_for`)."""
        return self._keys(subject)[1]

    def blocked_for(self, subject: str) -> int | None:
        """Seconds until the subject may try again, or None when it is not blocked (or the
        store cannot be reached)."""
        return self.wait_for(
            when_reachable(
                lambda: self.cache.get(self.blocked_key(subject)),
                fallback=None,
                skipped=f"{self.namespace} blocks are not enforced",
            )
        )

    @staticmethod
    def wait_for(until: float | None) -> int | None:
        """Seconds left of a block ending at `until` (the blocked key's value), or None."""
        if until is None:
            return None
        return max(1, math.ceil(float(until) - time.time()))

    def record_failure(self, subject: str) -> bool:
        """Count one failure; True when this failure started a block (exactly one caller sees
        True per block, whichever process it runs in). False, counting nothing, when the store
        cannot be reached."""
        return when_reachable(
            lambda: self._count_failure(subject),
            fallback=False,
            skipped=f"{self.namespace} failures are not counted",
        )

    def _count_failure(self, subject: str) -> bool:
        failures_key, blocked_key = self._keys(subject)
        self.cache.add(failures_key, 0, timeout=self.window)
        try:
            failures = self.cache.incr(failures_key)
        except ValueError:  # the window expired between add() and incr()
            self.cache.set(failures_key, 1, timeout=self.window)
            failures = 1
        if failures < self.limit:
            return False
        started = self.cache.add(blocked_key, time.time() + self.block, timeout=self.block)
        if started:
            # After the block the subject starts a fresh window.
            self.cache.delete(failures_key)
        return bool(started)

    def clear_failures(self, subject: str) -> None:
        """Forget the subject's failures in the current window (not a block in force)."""
        failures_key, _ = self._keys(subject)
        when_reachable(
            lambda: self.cache.delete(failures_key),
            fallback=False,
            skipped=f"{self.namespace} failures are not cleared",
        )
