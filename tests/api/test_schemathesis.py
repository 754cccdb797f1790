"""Property-based run of the whole API against its own OpenAPI schema (schemathesis).

In-process against the WSGI app, with a valid key holding every API scope, on a company with a
few offices, users and numbers. Bounded and derandomized (the same examples every run) so it
stays short and never flakes. Any 5xx, undocumented status, wrong content type or body that
breaks the schema fails the test.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.audit import SYSTEM
from offices import services as office_services
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(db):
    from config.wsgi import application

    # As Django's test client does: the WSGI handler must not close the test's connection
    # (and with it the transaction each test runs in) at the end of every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def populated_key(company, api_key_for):
    office = OfficeFactory(company=company, name="San Francisco", is_main=True)
    PhoneNumberFactory(company=company, office=office, number="+14155550100")
    PhoneNumberFactory(company=company, office=None, number="+14155550190")
    for n in range(3):
        user = UserFactory(company=company, email=f"person{n}@acme.example")
        office_services.move_user_to_office(user=user, office=office, actor=SYSTEM, source="cli")
        office_services.assign_license(user=user, license_type="talk", actor=SYSTEM, source="cli")
    return api_key_for(company)[1]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_schema(case, populated_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {populated_key}"}, checks=CHECKS)
