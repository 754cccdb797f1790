"""Who may call /scim/v2/: real API keys, through apikeys' authentication."""

import pytest
from prometheus_client import REGISTRY

from accounts.audit import SYSTEM, Source
from accounts.models import AuditEvent, Company, Plan, User
from apikeys.services import revoke_api_key
from tests.apikeys.factories import make_api_key, tampered
from tests.provisioning.test_scim_users import CORE, assert_error, new_user


def get_users(client, token=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.get("/scim/v2/Users", **headers, **extra)


def body(response):
    import json

    response.body = json.loads(response.content)
    return response


@pytest.mark.parametrize("token", [None, "", "sbk_nope", "x" * 5000])
def test_missing_or_bad_key_is_401_with_bearer_challenge(client, api_key, token):
    response = body(get_users(client, token))
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "API Keys" in response.body["detail"]


def test_tampered_and_revoked_keys_are_401(client, api_key):
    assert_error(body(get_users(client, tampered(api_key.raw))), 401)
    revoke_api_key(api_key=api_key, actor=SYSTEM, source=Source.CLI)
    assert_error(body(get_users(client, api_key.raw)), 401)


def test_unknown_url_without_a_key_is_401_not_404(client, api_key):
    response = body(client.get("/scim/v2/Nope"))
    assert_error(response, 401)


def test_repeated_failures_are_429_with_retry_after(client, api_key, settings):
    settings.API_KEY_FAILURE_LIMIT = 3
    address = {"REMOTE_ADDR": "198.51.100.77"}
    for _ in range(3):
        assert get_users(client, "sbk_guess", **address).status_code == 401
    blocked = body(get_users(client, "sbk_guess", **address))
    assert_error(blocked, 429)
    assert 1 <= int(blocked["Retry-After"]) <= settings.API_KEY_BLOCK_SECONDS
    # A real key is never locked out: not from that client, not from another.
    assert get_users(client, api_key.raw, **address).status_code == 200
    assert get_users(client, api_key.raw, REMOTE_ADDR="198.51.100.78").status_code == 200


def test_key_without_scim_scope_is_403(client, company):
    _, raw = make_api_key(company, name="Reporting", scopes=["api:read"])
    response = body(
        client.post(
            "/scim/v2/Users",
            {"userName": "x@acme.example"},
            HTTP_AUTHORIZATION=f"Bearer {raw}",
            content_type="application/scim+json",
        )
    )
    assert_error(response, 403)
    assert "'scim' scope" in response.body["detail"]
    assert not User.objects.filter(email="x@acme.example").exists()


def test_non_enterprise_company_is_403(scim, company):
    Company.objects.filter(pk=company.pk).update(plan=Plan.PRO)
    response = scim.post("Users", {"schemas": [CORE], "userName": "x@acme.example"})
    assert_error(response, 403)
    assert "Enterprise" in response.body["detail"]
    assert User.objects.count() == 0


def test_a_key_sees_and_changes_only_its_own_company(scim, client, other_company):
    ann = new_user(scim)
    _, foreign = make_api_key(other_company, name="Globex OneLogin")
    other = body(get_users(client, foreign))
    assert other.status_code == 200
    assert other.body["totalResults"] == 0
    response = body(
        client.delete(f"/scim/v2/Users/{ann['id']}", HTTP_AUTHORIZATION=f"Bearer {foreign}")
    )
    assert_error(response, 404)
    assert User.objects.filter(pk=ann["id"]).exists()


def test_writes_are_audited_with_the_key_and_request_id(scim, api_key):
    response = scim.post(
        "Users",
        {
            "schemas": [CORE],
            "userName": "aud@acme.example",
            "emails": [{"value": "aud@acme.example"}],
        },
    )
    event = AuditEvent.objects.get(action="user.created", target_id=response.body["id"])
    assert event.source == Source.SCIM
    assert event.actor_label == f"API key 'OneLogin' ({api_key.prefix}…)"
    assert event.request_id == response["X-Request-ID"]


def _scim_count(operation, status):
    return (
        REGISTRY.get_sample_value(
            "switchboard_scim_requests_total", {"operation": operation, "status": str(status)}
        )
        or 0.0
    )


def test_each_request_is_recorded_once_in_metrics(scim, client):
    before = {
        key: _scim_count(*key)
        for key in [
            ("users.create", 201),
            ("users.list", 200),
            ("groups.get", 404),
            ("unrouted", 404),
            ("users.list", 401),
        ]
    }
    created = new_user(scim)
    scim.get("Users")
    scim.get("Groups/999999")
    scim.get("Nope")
    client.get("/scim/v2/Users")
    assert created["id"]
    for key, value in before.items():
        assert _scim_count(*key) == value + 1, key
