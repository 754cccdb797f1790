"""Walks every operation of the generated OpenAPI schema: tenancy, scopes and authentication.

The list of operations comes from the schema itself, so a new endpoint is covered (or fails
here for want of a body or a maker) without anyone remembering to add it.
"""

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from accounts.models import AuditEvent, User
from apikeys.models import Scope
from offices.models import Office, PhoneNumber
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory
from tests.tenancy import TENANT_OBJECT_MAKERS

pytestmark = pytest.mark.django_db

RESOURCE_MODELS = {
    "users": User,
    "offices": Office,
    "numbers": PhoneNumber,
    "audit_events": AuditEvent,
}
try:  # the approval queue's endpoints exist once the approvals app is installed
    from approvals.models import PendingChange

    RESOURCE_MODELS["pending_changes"] = PendingChange
except ImportError:  # pragma: no cover
    pass


def operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith("/api/v1/") and path not in ("/api/v1/schema/", "/api/v1/docs/")
    )


OPERATIONS = operations()


def required_scope(method, path):
    if path.endswith(("/approve/", "/reject/")):
        return Scope.API_APPROVE
    return Scope.API_READ if method == "GET" else Scope.API_WRITE


def body_for(path, company):
    """A body that would be accepted, naming only the caller's own objects."""
    if path.endswith("/move_to_office/"):
        return {"office": OfficeFactory(company=company).pk}
    if path.endswith("/change_license/"):
        return {"license_type": "talk"}
    return {}


def call(client, method, path, body=None, **extra):
    if method == "GET":
        return client.get(path, **extra)
    return client.generic(method, path, data=body or {}, format="json", **extra)


def test_the_schema_lists_the_endpoints_we_expect():
    paths = {path for _, path in OPERATIONS}
    assert {
        "/api/v1/users/",
        "/api/v1/users/{id}/",
        "/api/v1/users/{id}/move_to_office/",
        "/api/v1/users/{id}/suspend/",
        "/api/v1/users/{id}/reactivate/",
        "/api/v1/users/{id}/assign_number/",
        "/api/v1/users/{id}/change_license/",
        "/api/v1/offices/",
        "/api/v1/offices/{id}/",
        "/api/v1/offices/{id}/available_licenses/",
        "/api/v1/numbers/",
        "/api/v1/licenses/",
        "/api/v1/audit_events/",
        "/api/v1/audit_events/{id}/",
    } <= paths


@pytest.mark.parametrize(("method", "path"), [op for op in OPERATIONS if "{id}" in op[1]])
def test_another_companys_id_is_a_404_and_changes_nothing(
    method, path, company, other_company, client_for
):
    model = RESOURCE_MODELS[path.split("/")[3]]
    foreign = TENANT_OBJECT_MAKERS[model](other_company)
    client = client_for(company)
    body = body_for(path, company)
    before = model.objects.filter(pk=foreign.pk).values().get()
    events = AuditEvent.objects.count()

    response = call(client, method, path.replace("{id}", str(foreign.pk)), body)

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert str(other_company.slug) not in response.content.decode().lower()
    assert model.objects.filter(pk=foreign.pk).values().get() == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("method", "path"), [op for op in OPERATIONS if "{id}" not in op[1]])
def test_lists_never_show_another_companys_rows(method, path, company, other_company, client_for):
    for maker in (TENANT_OBJECT_MAKERS[model] for model in RESOURCE_MODELS.values()):
        maker(other_company)
    UserFactory(company=company)
    response = call(client_for(company), method, path)
    assert response.status_code == 200, response.content
    assert "secret" not in response.content.decode().lower()
    assert "globex" not in response.content.decode().lower()


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_a_key_without_the_scope_gets_a_403_naming_it(method, path, company, client_for):
    scope = required_scope(method, path)
    others = [
        s for s in (Scope.SCIM, Scope.API_READ, Scope.API_WRITE, Scope.API_APPROVE) if s != scope
    ]
    user = UserFactory(company=company)
    client, body = client_for(company, others), body_for(path, company)
    events = AuditEvent.objects.count()

    response = call(client, method, path.replace("{id}", str(user.pk)), body)

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "missing_scope"
    assert f"'{scope}'" in error["message"]
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_without_a_valid_key_it_is_a_401(method, path, company):
    anonymous = call(Client(), method, path.replace("{id}", "1"))
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert anonymous.json()["error"]["code"] == "not_authenticated"

    wrong = call(
        Client(),
        method,
        path.replace("{id}", "1"),
        HTTP_AUTHORIZATION="Bearer sbk_aaaaaaaaaaaa_" + "A" * 43,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "authentication_failed"


def test_a_scim_only_key_still_works_for_scim_but_not_here(company, client_for):
    client = client_for(company, [Scope.SCIM])
    assert client.get("/scim/v2/Users").status_code == 200
    refused = client.get("/api/v1/users/")
    assert refused.status_code == 403
    assert "'api:read'" in refused.json()["error"]["message"]
