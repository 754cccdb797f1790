"""Throttling of failed password sign-ins (/login/), per target account and per client address,
and of refused SAML responses at the ACS, per client address.

The account counter stops a guess at one admin's password spread over many addresses; the
address counter stops one client trying many accounts. The password counters never block SSO;
the ACS's own budget blocks only an address whose responses keep being refused.
"""

from __future__ import annotations

import hashlib

from core import throttle


class AccountFailureThrottle(throttle.FailureThrottle):
    """LOGIN_ACCOUNT_FAILURE_LIMIT failed passwords for one email within LOGIN_FAILURE_WINDOW
    seconds block password sign-in to it for LOGIN_BLOCK_SECONDS, from everywhere."""

    namespace = "login-account"
    limit_setting = "LOGIN_ACCOUNT_FAILURE_LIMIT"
    window_setting = "LOGIN_FAILURE_WINDOW"
    block_setting = "LOGIN_BLOCK_SECONDS"

    def bucket(self, subject: str) -> str:
        # Hashed: the cache holds no email addresses, and keys stay short whatever is typed.
        return hashlib.sha256(subject.strip().lower().encode()).hexdigest()


class AddressFailureThrottle(throttle.FailureThrottle):
    """LOGIN_ADDRESS_FAILURE_LIMIT failed passwords from one client address (IPv6: per /64)
    within LOGIN_FAILURE_WINDOW seconds block it for LOGIN_BLOCK_SECONDS, for every account."""

    namespace = "login-address"
    limit_setting = "LOGIN_ADDRESS_FAILURE_LIMIT"
    window_setting = "LOGIN_FAILURE_WINDOW"
    block_setting = "LOGIN_BLOCK_SECONDS"


class RefusedSignInThrottle(throttle.FailureThrottle):
    """SSO_REFUSAL_LIMIT refused SAML responses from one client address (IPv6: per /64) within
    SSO_REFUSAL_WINDOW seconds block its ACS posts for SSO_REFUSAL_BLOCK_SECONDS, at every
    company: each refusal is audited, and an unauthenticated client must not fill the log."""

    namespace = "sso-acs-address"
    limit_setting = "SSO_REFUSAL_LIMIT"
    window_setting = "SSO_REFUSAL_WINDOW"
    block_setting = "SSO_REFUSAL_BLOCK_SECONDS"
