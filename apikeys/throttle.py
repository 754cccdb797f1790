"""Throttling of failed API-key authentications (core/throttle.py), per client address and per
key prefix.

A key that authenticates is always served: only refusals are throttled. Identity providers
(Okta, Entra, OneLogin) provision many companies from shared egress addresses, so one company's
mistyped key must never cost another company its provisioning. The two budgets:

- per client address: a client sending bad keys (unknown, malformed or wrong) is answered 429
  instead of 401 once it has spent its budget, for every bad key it sends;
- per key prefix: wrong secrets for one existing key, from any number of addresses, are answered
  429 the same way. The prefix is not secret (it is shown in lists), so it is what someone
  guessing a key's secret would hold fixed.
"""

from __future__ import annotations

from core import throttle
from core.throttle import client_bucket

__all__ = ["FailureThrottle", "KeyPrefixFailureThrottle", "client_bucket"]


class FailureThrottle(throttle.FailureThrottle):
    """API_KEY_FAILURE_LIMIT bad keys from one client address within API_KEY_FAILURE_WINDOW
    seconds make its bad keys 429 for API_KEY_BLOCK_SECONDS."""

    namespace = "apikeys"
    limit_setting = "API_KEY_FAILURE_LIMIT"
    window_setting = "API_KEY_FAILURE_WINDOW"
    block_setting = "API_KEY_BLOCK_SECONDS"


class KeyPrefixFailureThrottle(throttle.FailureThrottle):
    """API_KEY_PREFIX_FAILURE_LIMIT wrong secrets for one existing key prefix, from anywhere,
    within API_KEY_FAILURE_WINDOW seconds make wrong secrets for it 429 for
    API_KEY_BLOCK_SECONDS."""

    namespace = "apikeys-prefix"
    limit_setting = "API_KEY_PREFIX_FAILURE_LIMIT"
    window_setting = "API_KEY_FAILURE_WINDOW"
    block_setting = "API_KEY_BLOCK_SECONDS"

    def bucket(self, subject: str) -> str:
        return subject  # a well-formed prefix of an existing key (apikeys.tokens)
