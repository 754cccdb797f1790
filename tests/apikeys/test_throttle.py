import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from accounts.audit import SYSTEM, Source
from accounts.models import AuditEvent
from apikeys.models import APIKey
from apikeys.services import AuthenticationFailed, Throttled, authenticate, revoke_api_key
from apikeys.throttle import FailureThrottle, client_bucket
from tests.apikeys.factories import make_api_key

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"


def fail(ip=ATTACKER, times=1):
    for _ in range(times):
        with pytest.raises(AuthenticationFailed):
            authenticate(raw_key="sbk_guess", client_ip=ip)


@pytest.fixture
def limit(settings):
    settings.API_KEY_FAILURE_LIMIT = 5
    return 5


def test_repeated_failures_block_the_clients_bad_keys_but_never_a_valid_key(
    company, limit, settings
):
    api_key, raw_key = make_api_key(company)
    fail(times=limit)
    # Blocked: its bad keys are refused with 429 until the block ends …
    with pytest.raises(Throttled) as throttled:
        authenticate(raw_key="sbk_guess", client_ip=ATTACKER)
    assert 1 <= throttled.value.retry_after <= settings.API_KEY_BLOCK_SECONDS
    # … but a key that authenticates is served, from that address and from any other.
    assert authenticate(raw_key=raw_key, client_ip=ATTACKER) == api_key
    assert APIKey.objects.get(pk=api_key.pk).last_used_ip == ATTACKER
    assert authenticate(raw_key=raw_key, client_ip="198.51.100.7") == api_key


def test_a_valid_key_from_an_address_that_sent_100_bad_keys_is_served(company, other_company):
    # An identity provider's shared egress address: one company's keys are all wrong.
    _, raw_key = make_api_key(other_company)
    wrong_secret = make_api_key(company)[1][:-4] + "XXXX"
    statuses = []
    for attempt in range(100):
        bad = wrong_secret if attempt % 2 else "sbk_" + "x" * 56
        try:
            authenticate(raw_key=bad, client_ip=ATTACKER)
        except Throttled:
            statuses.append(429)
        except AuthenticationFailed:
            statuses.append(401)
    assert statuses[: django_settings.API_KEY_FAILURE_LIMIT - 1] == [401] * (
        django_settings.API_KEY_FAILURE_LIMIT - 1
    )
    assert statuses[-10:] == [429] * 10  # the flood is still refused
    assert authenticate(raw_key=raw_key, client_ip=ATTACKER).company == other_company


def test_wrong_secrets_for_one_key_are_budgeted_per_prefix_from_any_address(company, settings):
    settings.API_KEY_PREFIX_FAILURE_LIMIT = 3
    api_key, raw_key = make_api_key(company)
    wrong = raw_key[:-4] + ("XXXX" if not raw_key.endswith("XXXX") else "YYYY")
    for host in range(3):  # three addresses, one guess each: no address reaches its limit
        with pytest.raises(AuthenticationFailed):
            authenticate(raw_key=wrong, client_ip=f"192.0.2.{host + 1}")
    with pytest.raises(Throttled):
        authenticate(raw_key=wrong, client_ip="192.0.2.200")
    # The key itself is served, and other keys' wrong secrets are still plain 401s.
    assert authenticate(raw_key=raw_key, client_ip="192.0.2.200") == api_key
    _, other_raw = make_api_key(company, name="other")
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key=other_raw[:-4] + "ZZZZ", client_ip="192.0.2.201")
    event = AuditEvent.objects.get(action="api_key.throttled")
    assert event.company == company
    assert event.after["blocked"] == "key"
    assert event.target_id == str(api_key.pk)


def test_failures_below_the_limit_do_not_block(company, limit):
    _, raw_key = make_api_key(company)
    fail(times=limit - 1)
    assert authenticate(raw_key=raw_key, client_ip=ATTACKER).company == company


def test_throttling_is_audited_once_per_block_with_the_client_address(limit):
    fail(times=limit)
    for _ in range(3):
        with pytest.raises(Throttled):
            authenticate(raw_key="sbk_guess", client_ip=ATTACKER)
    event = AuditEvent.objects.get(action="api_key.throttled")
    assert event.actor_kind == "client"
    assert event.actor_label == ATTACKER
    assert event.client_ip == ATTACKER
    assert event.company is None
    assert event.after["failures"] == limit


def test_revoked_and_expired_keys_do_not_count_towards_the_block(company, limit):
    revoked, raw_revoked = make_api_key(company, name="old")
    revoke_api_key(api_key=revoked, actor=SYSTEM, source=Source.CLI)
    expired, raw_expired = make_api_key(company, name="expired")
    APIKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    _, raw_key = make_api_key(company, name="current")
    for _ in range(limit * 2):
        for stale in (raw_revoked, raw_expired):
            with pytest.raises(AuthenticationFailed):
                authenticate(raw_key=stale, client_ip=ATTACKER)
    assert authenticate(raw_key=raw_key, client_ip=ATTACKER).name == "current"


def test_ipv6_clients_are_counted_per_64(company, limit):
    _, raw_key = make_api_key(company)
    for host in range(limit):
        fail(ip=f"2001:db8:1:2::{host + 1}")
    with pytest.raises(Throttled):
        authenticate(raw_key="sbk_guess", client_ip="2001:db8:1:2:ffff::9")
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key="sbk_guess", client_ip="2001:db8:1:3::1")
    assert authenticate(raw_key=raw_key, client_ip="2001:db8:1:2:ffff::9").company == company
    assert client_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_bucket("2001:db8:1:2::7") == "2001:db8:1:2::/64"
    assert client_bucket("garbage") == "unknown"


def redis_cache_client() -> RedisCache:
    """A cache client of its own (own connection pool), like another web process has."""
    default = django_settings.CACHES["default"]
    return RedisCache(str(default["LOCATION"]), {"KEY_PREFIX": default.get("KEY_PREFIX", "")})


def test_throttle_is_shared_by_separate_cache_clients(company, limit):
    first, second = redis_cache_client(), redis_cache_client()
    assert first._cache is not second._cache
    _, raw_key = make_api_key(company)
    for _ in range(limit - 1):
        assert FailureThrottle(first).record_failure(ATTACKER) is False
    assert FailureThrottle(second).record_failure(ATTACKER) is True  # the limit-th, elsewhere
    assert FailureThrottle(first).blocked_for(ATTACKER) is not None
    # And the application's own cache client sees the block too.
    with pytest.raises(Throttled):
        authenticate(raw_key="sbk_guess", client_ip=ATTACKER)
    assert authenticate(raw_key=raw_key, client_ip=ATTACKER).company == company


@pytest.mark.slow
def test_throttle_is_shared_with_another_process(company):
    _, raw_key = make_api_key(company)
    script = (
        "import django; django.setup()\n"
        "from apikeys.throttle import FailureThrottle\n"
        "throttle = FailureThrottle()\n"
        f"print(sum(throttle.record_failure({ATTACKER!r}) for _ in range(throttle.limit)))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    result = subprocess.run(  # noqa: S603 (our own script, our own interpreter)
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=django_settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"  # that process started exactly one block
    with pytest.raises(Throttled):
        authenticate(raw_key="sbk_guess", client_ip=ATTACKER)
    assert authenticate(raw_key=raw_key, client_ip="198.51.100.7").company == company
