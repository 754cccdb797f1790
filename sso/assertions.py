"""The ACS's own checks on a SAML response pysaml2 has parsed and verified.

pysaml2 checks the signatures (against the company's IdP certificates only), the status, the
Destination, the conditions' times within its clock skew and an audience naming us. What it lets
through, or leaves to the caller, is refused here: a response not meant for our ACS (Recipient),
no bearer confirmation, missing or foreign audiences, an InResponseTo this browser never sent,
IdP-initiated sign-in when the company disallows it, an outer Issuer that is not the company's
IdP, no expiry at all, and times outside our bounds (issued in the future, too long ago, or valid
for too long).

`check_response` is a pure function: the parsed response and what the ACS knows in, the accepted
identity or the refusal out. No database, no request; the replay store is the caller's next step.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from saml2.saml import SCM_BEARER
from saml2.time_util import str_to_time

from sso.services import CONTACT_ADMIN, SignInRefused

NOT_FOR_US = "The sign-in response was not meant for this site, so nobody was signed in."


@dataclass(frozen=True)
class TimeBounds:
    """How far an assertion's times may stray (settings SAML_CLOCK_SKEW, SAML_MAX_AGE,
    SAML_MAX_VALIDITY)."""

    clock_skew: dt.timedelta
    max_age: dt.timedelta
    max_validity: dt.timedelta


@dataclass(frozen=True)
class Expectations:
    """What the ACS of one company expects of a response."""

    acs_url: str
    entity_id: str
    idp_entity_id: str
    allow_idp_initiated: bool
    company_name: str
    outstanding: Collection[str]
    now: dt.datetime
    bounds: TimeBounds


@dataclass(frozen=True)
class AcceptedIdentity:
    """Who the IdP vouched for, and until when the assertion id must be remembered."""

    assertion_id: str
    remember_until: dt.datetime
    name_id: str
    name_id_format: str
    session_index: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    in_response_to: str = ""

    @property
    def idp_initiated(self) -> bool:
        return not self.in_response_to


def saml_time(value: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(calendar.timegm(str_to_time(value)), tz=dt.UTC)


def idp_initiated_refused(company_name: str) -> SignInRefused:
    return SignInRefused(
        "idp_initiated_disallowed",
        f"{company_name} only allows signing in from Switchboard's sign-in page. Please start "
        "at the sign-in page instead of your identity provider's app list.",
    )


def wrong_audience() -> SignInRefused:
    return SignInRefused(
        "wrong_audience",
        "The sign-in response was issued for another application, so nobody was signed in.",
    )


def unknown_in_response_to() -> SignInRefused:
    return SignInRefused(
        "unknown_in_response_to",
        "This sign-in answers a request this browser did not make. Please start again.",
    )


def check_response(response: Any, expect: Expectations) -> AcceptedIdentity | SignInRefused:
    """The identity a verified pysaml2 `AuthnResponse` vouches for, or why it is refused."""
    assertion = getattr(response, "assertion", None)
    if assertion is None or assertion.subject is None:
        # pysaml2 hands back a response without an assertion when e.g. the Destination is not
        # our ACS.
        return SignInRefused("no_valid_assertion", NOT_FOR_US)
    outer_issuer = response.response.issuer
    if outer_issuer is not None and (outer_issuer.text or "").strip() != expect.idp_entity_id:
        # Unsigned when only the assertion is signed: it must still name the company's IdP.
        return SignInRefused(
            "wrong_issuer",
            "The sign-in response names another identity provider, so nobody was signed in. "
            + CONTACT_ADMIN,
        )
    # pysaml2 checks Recipient only when given "conv_info", which djangosaml2 never passes.
    confirmations = assertion.subject.subject_confirmation
    for confirmation in confirmations:
        data = confirmation.subject_confirmation_data
        if data is None or data.recipient != expect.acs_url:
            return SignInRefused("wrong_recipient", NOT_FOR_US)
    # The Web SSO profile signs in the browser that presents a bearer assertion; pysaml2 also
    # passes sender-vouches, where another party (never asked here) vouches for the subject.
    if not any(confirmation.method == SCM_BEARER for confirmation in confirmations):
        return SignInRefused(
            "not_bearer",
            "The sign-in response does not let the browser that brought it sign in (no "
            "bearer confirmation), so nobody was signed in. " + CONTACT_ADMIN,
        )
    # The Web SSO profile requires an AudienceRestriction naming us, and several must all hold;
    # pysaml2 passes an assertion without any, and needs only one of several to name us.
    conditions = assertion.conditions
    restrictions = conditions.audience_restriction if conditions is not None else []
    if not restrictions or any(
        expect.entity_id not in [(audience.text or "").strip() for audience in restriction.audience]
        for restriction in restrictions
    ):
        return wrong_audience()
    in_response_to = response.in_response_to or ""
    if in_response_to and in_response_to not in expect.outstanding:
        return unknown_in_response_to()
    if not in_response_to and not expect.allow_idp_initiated:
        return idp_initiated_refused(expect.company_name)
    expiries = [
        saml_time(value)
        for value in [
            *(c.subject_confirmation_data.not_on_or_after for c in confirmations),
            conditions.not_on_or_after if conditions is not None else None,
        ]
        if value
    ]
    if not expiries:
        # Valid forever, it would outlive its row in the replay store (pysaml2 accepts it).
        return SignInRefused(
            "no_expiry",
            "The sign-in response has no expiry time (NotOnOrAfter), so it could be used "
            "again and again: nobody was signed in. " + CONTACT_ADMIN,
        )
    refusal = _time_refusal(
        [saml_time(response.response.issue_instant), saml_time(assertion.issue_instant)],
        max(expiries),
        expect,
    )
    if refusal is not None:
        return refusal
    # Acceptable until its last expiry or until it is too old, whichever comes first (the
    # replay store adds the clock skew).
    issued = saml_time(assertion.issue_instant)
    remember_until = min(max(expiries), issued + expect.bounds.max_age)
    session_info = response.session_info()
    name_id = session_info["name_id"]
    return AcceptedIdentity(
        assertion_id=assertion.id or "",
        name_id=(getattr(name_id, "text", "") or "").strip(),
        name_id_format=getattr(name_id, "format", "") or "",
        session_index=session_info.get("session_index") or "",
        attributes=session_info.get("ava") or {},
        in_response_to=in_response_to,
        remember_until=remember_until,
    )


def _time_refusal(
    issue_instants: list[dt.datetime], expiry: dt.datetime, expect: Expectations
) -> SignInRefused | None:
    """pysaml2 accepts an IssueInstant up to a day away and any validity; ours are tighter."""
    bounds = expect.bounds
    if any(issued > expect.now + bounds.clock_skew for issued in issue_instants):
        return SignInRefused(
            "issued_in_future",
            "The sign-in response is dated in the future: check the identity provider's clock. "
            "Nobody was signed in.",
        )
    if any(issued < expect.now - bounds.max_age - bounds.clock_skew for issued in issue_instants):
        return SignInRefused(
            "issued_too_long_ago",
            "This sign-in was issued too long ago. Please sign in again.",
        )
    if expiry > max(issue_instants) + bounds.max_validity:
        hours = round(bounds.max_validity.total_seconds() / 3600)
        return SignInRefused(
            "validity_too_long",
            f"The sign-in response stays valid for longer than Switchboard accepts ({hours} "
            "hours), so nobody was signed in. " + CONTACT_ADMIN,
        )
    return None
