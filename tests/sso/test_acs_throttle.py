"""The ACS's refusal budget per client address: every refusal is audited, so an unauthenticated
flood would fill the audit log. Past the budget: 429 with Retry-After, one audit event for the
block, and pysaml2 never runs; an office's handful of refusals blocks nobody."""

import time

import pytest

from accounts.models import AuditEvent
from sso.throttle import RefusedSignInThrottle
from tests.accounts.factories import UserFactory
from tests.apikeys.test_throttle import redis_cache_client
from tests.sso.conftest import refusals
from tests.sso.saml_idp import encode
from tests.sso.test_acs import ACS, post, signed_in_as

ELSEWHERE = "198.51.100.7"
GARBAGE = "%%% not base64 %%%"


@pytest.fixture
def limits(settings):
    settings.SSO_REFUSAL_LIMIT = 3
    return settings


@pytest.fixture
def ada(company):
    return UserFactory(company=company, email="ada@acme.example")


def throttled_events():
    return AuditEvent.objects.filter(action="auth.sso_throttled")


def refuse(client, times, **extra):
    for _ in range(times):
        response = client.post(ACS, {"SAMLResponse": GARBAGE}, **extra)
        assert response.status_code == 400, response.content[:300]


def test_refusals_past_the_budget_get_429_with_retry_after(client, limits, acme_saml):
    refuse(client, times=3)  # the limit-th refusal starts the block
    response = client.post(ACS, {"SAMLResponse": GARBAGE})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= limits.SSO_REFUSAL_BLOCK_SECONDS
    body = response.content.decode()
    assert "Too many sign-ins from your network were refused" in body
    assert "Try again in 10 minutes." in body
    assert "Back to sign-in" in body


def test_a_flood_writes_one_audit_event_for_the_block(client, limits, acme_saml, company):
    refuse(client, times=3)
    for _ in range(20):
        assert client.post(ACS, {"SAMLResponse": GARBAGE}).status_code == 429
    assert refusals().count() == 3
    event = throttled_events().get()
    assert event.actor_kind == "client"
    assert event.client_ip == "127.0.0.1"
    assert event.company is None  # the address is blocked at every company's ACS
    assert event.after == {
        "blocked": "address",
        "at": "acme",
        "refusals": 3,
        "window_seconds": limits.SSO_REFUSAL_WINDOW,
        "blocked_seconds": limits.SSO_REFUSAL_BLOCK_SECONDS,
    }


def test_a_blocked_address_never_reaches_pysaml2(
    client, limits, acme_saml, acme_idp, ada, monkeypatch
):
    refuse(client, times=3)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the response was parsed for a blocked address")

    monkeypatch.setattr("sso.views.inspect_saml_response", must_not_run)
    monkeypatch.setattr(
        "djangosaml2.overrides.Saml2Client.parse_authn_request_response", must_not_run
    )
    # Even a genuine signed response waits for the block to end.
    response = post(client, acme_idp.response("ada@acme.example"))
    assert response.status_code == 429
    assert signed_in_as(client) is None
    assert not AuditEvent.objects.filter(action__startswith="auth.sign_in.").exists()


def test_other_addresses_still_sign_in(client, limits, acme_saml, acme_idp, ada):
    refuse(client, times=3)
    response = client.post(
        ACS, {"SAMLResponse": acme_idp.response("ada@acme.example")}, REMOTE_ADDR=ELSEWHERE
    )
    assert response.status_code == 302
    assert signed_in_as(client) == str(ada.pk)


def test_every_kind_of_refusal_counts(client, limits, acme_saml, acme_idp, idps, ada):
    post(client, idps["evil"].response("ada@acme.example"))  # bad signature
    post(client, acme_idp.response("nobody@acme.example"))  # unknown user
    client.post(ACS, {})  # no response at all
    assert post(client, acme_idp.response("ada@acme.example")).status_code == 429


def test_an_offices_handful_of_refusals_blocks_nobody(client, acme_saml, acme_idp, ada):
    """The default budget: a shared corporate address (one NAT for a whole office) gets stale
    tabs, back-button replays and expired responses; a dozen in ten minutes is a busy morning,
    not an attack, and the next genuine sign-in from there goes through."""
    refuse(client, times=12)
    assert post(client, acme_idp.response("ada@acme.example")).status_code == 302
    assert signed_in_as(client) == str(ada.pk)
    assert not throttled_events().exists()


def test_the_block_ends_after_its_time(client, limits, acme_saml, acme_idp, ada):
    limits.SSO_REFUSAL_BLOCK_SECONDS = 1
    refuse(client, times=3)
    response = client.post(ACS, {"SAMLResponse": GARBAGE})
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    time.sleep(1.1)  # the block's own cache TTL
    assert post(client, acme_idp.response("ada@acme.example")).status_code == 302


def test_the_block_is_shared_by_separate_cache_clients(client, limits, acme_saml):
    """Web processes and nodes share the count (Redis), so a flood cannot spread over them."""
    first, second = redis_cache_client(), redis_cache_client()
    assert RefusedSignInThrottle(first).record_failure("127.0.0.1") is False
    assert RefusedSignInThrottle(second).record_failure("127.0.0.1") is False
    assert RefusedSignInThrottle(first).record_failure("127.0.0.1") is True
    assert client.post(ACS, {"SAMLResponse": GARBAGE}).status_code == 429


def test_ipv6_clients_are_counted_per_64(client, limits, acme_saml):
    refuse(client, times=3, REMOTE_ADDR="2001:db8:1:2::10")
    blocked = client.post(ACS, {"SAMLResponse": GARBAGE}, REMOTE_ADDR="2001:db8:1:2::99")
    assert blocked.status_code == 429
    other = client.post(ACS, {"SAMLResponse": GARBAGE}, REMOTE_ADDR="2001:db8:1:3::10")
    assert other.status_code == 400


def test_people_still_sign_in_while_the_shared_cache_is_down(
    client, acme_saml, acme_idp, ada, settings
):
    """The refusal budget lives in Redis; the ACS itself needs only the database (sessions and
    the replay store), so an unreachable cache costs the budget, never the sign-ins."""
    from tests.processes import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
    }
    forged = acme_idp.response_xml("ada@acme.example").replace("ada@", "eve@")
    assert post(client, encode(forged)).status_code == 403
    assert refusals("bad_signature").count() == 1
    response = post(client, acme_idp.response("ada@acme.example"))
    assert response.status_code == 302, response.content[:300]
    assert signed_in_as(client) == str(ada.pk)
