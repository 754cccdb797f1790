"""Throttling of failed API-key authentications per client address (config/throttle.py)."""

from __future__ import annotations

from config import throttle
from config.throttle import client_bucket

__all__ = ["FailureThrottle", "client_bucket"]


class FailureThrottle(throttle.FailureThrottle):
    """API_KEY_FAILURE_LIMIT failures from one client address within API_KEY_FAILURE_WINDOW
    seconds block it for API_KEY_BLOCK_SECONDS."""

    namespace = "apikeys"
    limit_setting = "API_KEY_FAILURE_LIMIT"
    window_setting = "API_KEY_FAILURE_WINDOW"
    block_setting = "API_KEY_BLOCK_SECONDS"
