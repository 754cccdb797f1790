"""scim2-tester's check_server against the app, in-process over WSGI, with every resource type."""

import random
import re

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

from tests.offices.factories import PhoneNumberFactory

pytestmark = pytest.mark.django_db

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.SKIPPED}


@pytest.fixture
def results(settings, api_key, main_office, company):
    for i in range(5):
        PhoneNumberFactory(company=company, office=main_office, number=f"+1415555{i:04d}")
    client = WSGISCIMClient(
        get_wsgi_application(),
        base_url=f"{settings.PUBLIC_BASE_URL}/scim/v2",
        headers={"Authorization": f"Bearer {api_key.raw}"},
    )
    # As Django's test client does: the test's transaction holds the connection, so a request
    # must not close it when it ends.
    # The tester draws its values with `random`: a fixed seed makes the run repeatable.
    random.seed(7)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return check_server(client)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# The ERRORs scim2-tester reports that are decisions, not bugs (each listed in the issue note).
# The tester writes random values into every writable attribute and expects them back verbatim.
KNOWN = {
    # We also return readOnly values we compute: name.formatted, manager.displayName,
    # members.display, the assigned work number beside the numbers written, the read-only
    # phoneNumber/pendingChanges of our extension; the tester compares for strict equality.
    "computed": re.compile(
        r"returned unexpected value for '(name|members|phoneNumbers|emails|"
        r"urn:ietf:params:scim:schemas:extension:(enterprise|switchboard):2\.0:User(:manager)?)'"
    ),
    # Refusals the issue asks for: a work number must be E.164 and free in the company's pool;
    # a suspended user holds no number, so a number or area code for one is refused.
    "refused": re.compile(r"work number .* is not an E\.164|holds no phone number|is not one of"),
    # Not stored: displayName falls back to the name, active is the user's status, the
    # assigned work number stays when phoneNumbers is removed (it is released by suspending or
    # deleting the user, not by a profile edit), and our
    # extension's settings stay unless replaced (a user always has an office and a license
    # type); Groups (offices) keep no externalId.
    "kept": re.compile(
        r"did not remove attribute '(displayName|active|phoneNumbers|"
        r"urn:ietf:params:scim:schemas:extension:switchboard:2\.0:User"
        r"(:licenseType|:officeName|:areaCode)?)'"
        r"|requested attribute 'externalId' missing from Group|unexpected value for 'externalId'"
    ),
}


def test_check_server_finds_no_errors_but_the_known_ones(results):
    report = [
        f"{r.status.name} {r.resource_type or '-'} {r.title}: {(r.reason or '').splitlines()[0]}"
        for r in results
        if r.status not in PASSING
    ]
    print("\n".join(report))
    print(f"{len(results)} checks, {len(report)} not passing")
    assert sum(r.status == Status.SUCCESS for r in results) > 40
    unexplained = [
        r
        for r in results
        if r.status in {Status.ERROR, Status.CRITICAL}
        and not any(rule.search(r.reason or "") for rule in KNOWN.values())
    ]
    assert unexplained == [], [r.reason for r in unexplained]
