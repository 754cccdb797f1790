import json

import pytest
from django.db import OperationalError, connection
from django.test import Client, override_settings

from tests.processes import free_port

pytestmark = pytest.mark.django_db


def test_healthy_answers_200_with_each_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"  # Redis: REDIS_URL is set in tests
    # The test run has no broker: tasks run in-process, so there is nothing to be down.
    assert body["checks"]["broker"] == {"status": "not configured"}


def test_unreachable_broker_is_red_and_names_no_address(client):
    port = free_port()  # nothing listens here
    with override_settings(CELERY_BROKER_URL=f"redis://:hunter2@127.0.0.1:{port}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["status"] == "unavailable"
    assert body["checks"]["broker"]["error"] == "ConnectionError"
    assert body["checks"]["database"]["status"] == "ok"
    text = response.content.decode()
    assert str(port) not in text
    assert "hunter2" not in text


def _refuse_every_query(execute, sql, params, many, context):
    raise OperationalError("connection refused")


def test_database_down_is_red(client):
    with connection.execute_wrapper(_refuse_every_query):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == {
        "status": "unavailable",
        "error": "OperationalError",
        "ms": body["checks"]["database"]["ms"],
    }
    assert "connection refused" not in json.dumps(body)


def test_probe_by_address_not_in_allowed_hosts(client):
    # A load balancer probes by the instance's address; the rest of the site still refuses it.
    assert client.get("/healthz", HTTP_HOST="10.0.3.7:8000").status_code == 200
    assert client.get("/admin/login/", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_exempt_from_https_redirect():
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = Client()  # SecurityMiddleware reads the setting when the handler is built
        assert client.get("/healthz").status_code == 200
        assert client.get("/admin/login/").status_code == 301


def test_only_get_and_head(client):
    assert client.head("/healthz").status_code == 200
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
