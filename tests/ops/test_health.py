import json
import socket
import time

import pytest
from django.db import connection, connections
from django.test import Client, override_settings

from core.health import CHECK_TIMEOUT_SECONDS
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


@pytest.fixture
def database_at(monkeypatch):
    """The database the probe's own connection (a thread's) reaches: at another port."""

    def point_at(port: int) -> None:
        monkeypatch.setitem(
            connections.settings, "default", {**connection.settings_dict, "PORT": port}
        )

    return point_at


def test_database_down_is_red(client, database_at):
    database_at(free_port())  # nothing listens there: connection refused
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == {
        "status": "unavailable",
        "error": "OperationalError",
        "ms": body["checks"]["database"]["ms"],
    }
    assert "refused" not in json.dumps(body)
    assert body["checks"]["cache"]["status"] == "ok"


def test_a_silent_database_answers_within_the_budget(client, database_at):
    with socket.socket() as frozen:  # accepts connections, never answers: a frozen server
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(8)
        database_at(frozen.getsockname()[1])
        started = time.monotonic()
        response = client.get("/healthz")
        took = time.monotonic() - started
    assert response.status_code == 503
    assert took < CHECK_TIMEOUT_SECONDS + 0.5
    assert response.json()["checks"]["database"]["error"] == "Timeout"


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
