import pytest
from django.db import DatabaseError
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app as celery_app
from core.metrics import PENDING_APPROVALS, record_saml_login, record_scim_request

pytestmark = pytest.mark.django_db


def _samples(response) -> dict[tuple[str, frozenset], float]:
    assert response.status_code == 200, response.content
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_method_and_status(client):
    labels = {"route": "/login/", "method": "GET", "status": "200"}
    before = _value(_samples(client.get("/metrics")), "switchboard_http_requests_total", **labels)
    client.get("/login/")
    client.get("/login/")
    samples = _samples(client.get("/metrics"))
    assert _value(samples, "switchboard_http_requests_total", **labels) == before + 2
    assert _value(samples, "switchboard_http_request_seconds_count", **labels) >= 2


def test_route_is_the_pattern_not_the_path(company_admin_client, member):
    company_admin_client.get(f"/admin/accounts/user/{member.pk}/change/")
    samples = _samples(company_admin_client.get("/metrics"))
    labels = {"method": "GET", "status": "200"}
    route = "/admin/accounts/user/<path:object_id>/change/"
    assert _value(samples, "switchboard_http_requests_total", route=route, **labels) >= 1
    # No label holds the concrete path (a small pk alone would match a status like "409").
    path = f"/admin/accounts/user/{member.pk}/change/"
    assert not [key for key in samples if any(value == path for _, value in key[1])]


def test_named_metrics_for_other_apps(client):
    record_scim_request(operation="users.create", status=201, seconds=0.012)
    record_saml_login(outcome="replayed")
    samples = _samples(client.get("/metrics"))
    assert _value(
        samples, "switchboard_scim_requests_total", operation="users.create", status="201"
    )
    assert _value(samples, "switchboard_scim_request_seconds_count", operation="users.create")
    assert _value(samples, "switchboard_saml_logins_total", outcome="replayed")


def test_pending_approvals_is_read_when_scraped(client):
    assert not [
        k for k in _samples(client.get("/metrics")) if k[0] == "switchboard_pending_approvals"
    ]
    counts = iter([3, 5])
    PENDING_APPROVALS.set_source(lambda: next(counts))
    try:
        assert _value(_samples(client.get("/metrics")), "switchboard_pending_approvals") == 3
        assert _value(_samples(client.get("/metrics")), "switchboard_pending_approvals") == 5

        def database_down() -> int:
            raise DatabaseError("gone")

        PENDING_APPROVALS.set_source(database_down)
        samples = _samples(client.get("/metrics"))  # still answers, without the value
        assert not [k for k in samples if k[0] == "switchboard_pending_approvals"]
    finally:
        PENDING_APPROVALS.set_source(None)


@celery_app.task(name="tests.ops.explode")
def explode() -> None:
    raise RuntimeError("boom")


def test_task_failures_are_counted_by_task(client):
    before = _value(
        _samples(client.get("/metrics")),
        "switchboard_task_failures_total",
        task="tests.ops.explode",
    )
    assert explode.apply(throw=False).state == "FAILURE"  # as a worker runs it
    samples = _samples(client.get("/metrics"))
    assert (
        _value(samples, "switchboard_task_failures_total", task="tests.ops.explode") == before + 1
    )
    assert _value(samples, "switchboard_tasks_total", task="tests.ops.explode", state="FAILURE")


def test_without_token_only_a_direct_loopback_client(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7").status_code == 403
    # A proxy on this host forwards the world from 127.0.0.1: that is not a loopback client.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 403


@override_settings(METRICS_TOKEN="s3cret-scrape-token")
def test_with_token_a_bearer_from_anywhere(client):
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    right = client.get(
        "/metrics", REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
    )
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain")
    # Scraped by pod address, over plain http inside the cluster.
    assert (
        client.get(
            "/metrics", HTTP_HOST="10.2.0.4:8000", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
        ).status_code
        == 200
    )
