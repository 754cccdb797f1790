import json

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import AuditEvent, CompanyDomain
from config.celery import TRANSIENT_RETRY
from config.celery import app as celery_app
from core.faults import server_error

pytestmark = pytest.mark.django_db


def _lose_connection_on_audit_insert(execute, sql, params, many, context):
    # The domain row is written; the connection drops before the audit row.
    if sql.startswith('INSERT INTO "accounts_auditevent"'):
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


def test_database_lost_mid_change_is_503_and_nothing_is_written(company_admin_client, company):
    with connection.execute_wrapper(_lose_connection_on_audit_insert):
        response = company_admin_client.post(
            reverse("admin:accounts_companydomain_add"), {"domain": "half.example"}
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Service unavailable" in response.content.decode()
    assert not CompanyDomain.objects.filter(domain="half.example").exists()
    assert not AuditEvent.objects.filter(action="company.domain_added").exists()


def _refuse_every_query(execute, sql, params, many, context):
    raise OperationalError("could not connect to server")


@pytest.mark.urls("tests.ops.urls")
def test_scim_gets_a_scim_error_body(client):
    assert client.get("/scim/v2/Users").status_code == 200  # the view works with a database
    with connection.execute_wrapper(_refuse_every_query):
        response = client.get("/scim/v2/Users")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/scim+json"
    assert response["Retry-After"] == "30"
    body = json.loads(response.content)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "503"
    assert body["detail"]
    assert "could not connect" not in body["detail"]  # no driver internals


def test_json_clients_get_json(client, company_admin):
    client.force_login(company_admin)
    with connection.execute_wrapper(_refuse_every_query):
        response = client.get("/admin/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable. Retry later."}


def test_a_statement_error_is_not_mistaken_for_an_outage():
    request = RequestFactory().get("/scim/v2/Users")
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(request).status_code == 500


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_raised_outside_a_view_still_503(error):
    # e.g. SessionMiddleware saving the session when the database has gone.
    request = RequestFactory().get("/scim/v2/Users")
    try:
        raise error("gone")
    except error:
        response = server_error(request)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/scim+json"


attempts: list[str] = []


@celery_app.task(name="tests.ops.flaky", **TRANSIENT_RETRY)
def flaky(fail_with: str) -> str:
    attempts.append(fail_with)
    if len(attempts) == 1:
        raise {"database": OperationalError, "bug": ValueError}[fail_with]("first attempt")
    return "done"


def test_transient_errors_are_retried_and_others_are_not():
    attempts.clear()
    # apply() runs the retry Celery schedules right away (no countdown), like a worker would.
    assert flaky.apply(args=["database"], throw=False).get() == "done"
    assert attempts == ["database", "database"]
    attempts.clear()
    result = flaky.apply(args=["bug"], throw=False)
    assert result.state == "FAILURE"
    assert isinstance(result.result, ValueError)
    assert attempts == ["bug"]


def test_the_rest_api_gets_its_error_shape(client, company):
    from tests.apikeys.factories import make_api_key

    _, raw_key = make_api_key(company, scopes=["api:read"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    assert client.get("/api/v1/users/", **headers).status_code == 200
    with connection.execute_wrapper(_refuse_every_query):
        response = client.get("/api/v1/users/", **headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "error": {
            "code": "unavailable",
            "message": "The database is unavailable. Retry later.",
            "field": None,
        }
    }
