"""Redis is optional for serving: with the shared cache unreachable (refusing) or silent (a
frozen server), SCIM, the REST API and the /login/ password step answer from the database, fast,
and say once what they do without it."""

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings

import core.cache
from apikeys.services import AuthenticationFailed, authenticate
from core.cache import when_reachable
from tests.apikeys.factories import make_api_key
from tests.processes import free_port
from tests.sso.test_login import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_warnings_yet(monkeypatch):
    """Each test starts as a fresh process: nothing warned about yet."""
    monkeypatch.setattr(core.cache, "_warned", {})


def redis_at(port: int) -> dict:
    return {
        "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0"}
    }


@pytest.fixture
def refusing_cache() -> Iterator[None]:
    with override_settings(CACHES=redis_at(free_port())):  # nothing listens there
        yield


@pytest.fixture
def silent_cache() -> Iterator[None]:
    """A port that accepts connections (the kernel's backlog) and never answers: a frozen Redis."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        with override_settings(CACHES=redis_at(listener.getsockname()[1])):
            yield


def test_scim_and_rest_serve_valid_keys_and_refuse_bad_ones_without_the_cache(
    client, refusing_cache, company, caplog
):
    _, raw_key = make_api_key(company, scopes=["scim", "api:read"])
    with caplog.at_level(logging.WARNING, "switchboard.cache"):
        for _ in range(3):
            response = client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
            assert response.status_code == 200, response.content[:300]
            response = client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
            assert response.status_code == 200, response.content[:300]
        refused = client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer sbk_nope")
    assert refused.status_code == 401
    warnings = [r.getMessage() for r in caplog.records if r.name == "switchboard.cache"]
    # One warning per kind of skip, however many requests skipped it.
    assert len(warnings) == len(set(warnings)), warnings
    assert any("read from the database" in warning for warning in warnings)


def test_the_password_step_signs_in_without_the_cache(client, refusing_cache, company_admin):
    company_admin.set_password(PASSWORD)
    company_admin.save()
    wrong = client.post(
        "/login/", {"step": "password", "email": company_admin.email, "password": "guess"}
    )
    assert wrong.status_code == 400
    response = client.post(
        "/login/",
        {"step": "password", "email": company_admin.email, "password": PASSWORD, "next": "/app/"},
    )
    assert response.status_code == 302, response.content[:300]
    assert client.session["_auth_user_id"] == str(company_admin.pk)


def test_a_silent_cache_costs_one_timeout_then_nothing(silent_cache, company, settings):
    api_key, raw_key = make_api_key(company)
    started = time.monotonic()
    assert authenticate(raw_key=raw_key, client_ip="192.0.2.1") == api_key
    first = time.monotonic() - started
    assert first < settings.CACHE_CONNECT_TIMEOUT + settings.CACHE_SOCKET_TIMEOUT + 0.5
    started = time.monotonic()
    for _ in range(5):  # within CACHE_RETRY_SECONDS: the cache is not tried again
        assert authenticate(raw_key=raw_key, client_ip="192.0.2.1") == api_key
        with pytest.raises(AuthenticationFailed):
            authenticate(raw_key="sbk_nope", client_ip="192.0.2.1")
    assert time.monotonic() - started < 0.5


def test_the_cache_is_tried_again_after_the_retry_interval(refusing_cache, settings):
    from django.core.cache import cache

    settings.CACHE_RETRY_SECONDS = 0.2
    calls = []

    def get():
        calls.append(1)
        return cache.get("anything")

    assert when_reachable(get, fallback="skipped", skipped="test") == "skipped"
    client = cache._cache
    assert client.down_until > time.monotonic()
    time.sleep(0.3)
    client.down_until = 0.0  # as if the interval passed with Redis back
    assert when_reachable(get, fallback="skipped", skipped="test") == "skipped"
    assert len(calls) == 2


def test_an_error_that_is_not_an_outage_still_raises(settings):
    def broken():
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        when_reachable(broken, fallback=None, skipped="test")
