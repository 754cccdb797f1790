"""Throttling of failed API-key authentications per client address, in the shared cache.

The cache is Redis in production and tests (one store for every web process and node) and a
database table in the quickstart: never process memory, so a client cannot spread its guesses
over processes. IPv6 clients are counted per /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import BaseCache, caches


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
    """`limit` failures within `window` seconds from one client block it for `block` seconds."""

    def __init__(self, cache: BaseCache | None = None) -> None:
        self._cache = cache
        self.limit: int = settings.API_KEY_FAILURE_LIMIT
        self.window: int = settings.API_KEY_FAILURE_WINDOW
        self.block: int = settings.API_KEY_BLOCK_SECONDS

    @property
    def cache(self) -> BaseCache:
        return self._cache if self._cache is not None else caches["default"]

    @staticmethod
    def _keys(ip: str) -> tuple[str, str]:
        bucket = client_bucket(ip)
        return f"apikeys:auth-failures:{bucket}", f"apikeys:auth-blocked:{bucket}"

    def blocked_for(self, ip: str) -> int | None:
        """Seconds until the client may try again, or None when it is not blocked."""
        _, blocked_key = self._keys(ip)
        until = self.cache.get(blocked_key)
        if until is None:
            return None
        return max(1, math.ceil(float(until) - time.time()))

    def record_failure(self, ip: str) -> bool:
        """Count one failure; True when this failure started a block (exactly one caller sees
        True per block, whichever process it runs in)."""
        failures_key, blocked_key = self._keys(ip)
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
            # After the block the client starts a fresh window.
            self.cache.delete(failures_key)
        return bool(started)
