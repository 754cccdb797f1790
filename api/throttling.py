"""Per-key rate limits in the shared cache (Redis in production: one count for every process).

A fixed window per key: `cache.add` opens it with the window's lifetime, `cache.incr` counts
atomically, so concurrent requests on many processes never under-count. Over the limit: 429
with `Retry-After` (the seconds until the window ends). The rate is `API_RATE_LIMIT` (settings),
e.g. "600/minute". With the shared cache unreachable the limit is not kept (a warning).
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apikeys.models import APIKey
from core.cache import when_reachable

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/minute' → (600, 60). Raises ValueError for anything else (checked at start-up)."""
    count, _, period = str(rate).partition("/")
    number, unit = "", period
    while unit[:1].isdigit():
        number, unit = number + unit[0], unit[1:]
    seconds = PERIODS[unit.strip().lower()] * (int(number) if number else 1)
    limit = int(count)
    if limit < 1 or seconds < 1:
        raise ValueError(rate)
    return limit, seconds


def _now() -> float:
    return time.time()


class APIKeyRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.limit, self.window = parse_rate(settings.API_RATE_LIMIT)
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, APIKey):
            return True  # unauthenticated requests are refused before they cost anything
        now = _now()
        window_start = int(now // self.window) * self.window
        counter = f"api:rate:{key.pk}:{window_start}"
        used = when_reachable(
            lambda: self._count(counter),
            fallback=0,
            skipped="REST API rate limits are not kept",
        )
        if used <= self.limit:
            return True
        self._wait = window_start + self.window - now
        return False

    def _count(self, counter: str) -> int:
        cache = caches["default"]
        cache.add(counter, 0, timeout=self.window + 1)
        try:
            return int(cache.incr(counter))
        except ValueError:  # the window's key expired between add() and incr()
            cache.set(counter, 1, timeout=self.window + 1)
            return 1

    def wait(self) -> float | None:
        return None if self._wait is None else max(1, math.ceil(self._wait))
