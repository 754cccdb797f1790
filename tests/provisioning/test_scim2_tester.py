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


SWITCHBOARD = r"urn:ietf:params:scim:schemas:extension:switchboard:2\.0:User"

# The ERRORs scim2-tester reports that are decisions, not bugs (each listed in the issue note).
# The tester writes random values into every writable attribute, expects them back verbatim,
# and expects every optional writable attribute to be removable.
KNOWN = {
    # A suspended user holds no number (the issue: suspending frees it), so the areaCode shown
    # is empty; one written while suspended is accepted — clients resend their whole template on
    # the suspending PUT — and used when the user is activated (the tester suspends its user with
    # a random `active: false` before these checks).
    "suspended holds no number": re.compile(
        rf"^PATCH modify\(\) returned unexpected value for '{SWITCHBOARD}(:areaCode)?'\."
    ),
    # RFC 7644 §3.5.2.2 makes a removed attribute unassigned; a user always is active or
    # suspended, holds a license type and sits in an office, so these removals are refused
    # with 400 mutability instead of being ignored.
    "not removable": re.compile(
        rf"^Failed to remove attribute '(active|{SWITCHBOARD}(:licenseType|:officeName)?)': "
        r"\S+ cannot be removed: "
    ),
}

# RFC 7643 §4.3 and §2.4: manager.displayName and members.display are readOnly values the
# server fills in and returns; the tester, which cannot write them, compares strictly.
COMPUTED = {"display", "displayName"}


def _dump(value):
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value.model_dump() if hasattr(value, "model_dump") else value


def _without_computed(expected, actual):
    """`actual` less the computed readOnly sub-attributes the client did not write."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {
            key: _without_computed(expected.get(key), value)
            for key, value in actual.items()
            if not (key in COMPUTED and expected.get(key) is None)
        }
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [_without_computed(e, a) for e, a in zip(expected, actual, strict=True)]
    return actual


def only_computed_values_differ(result) -> bool:
    data = result.data if isinstance(result.data, dict) else {}
    if "expected" not in data or "modify_actual" not in data:
        return False
    expected, actual = _dump(data["expected"]), _dump(data["modify_actual"])
    return expected != actual and _without_computed(expected, actual) == expected


def test_check_server_finds_no_errors_but_the_known_ones(results):
    report = [
        f"{r.status.name} {r.resource_type or '-'} {r.title}: {(r.reason or '').splitlines()[0]}"
        for r in results
        if r.status not in PASSING
    ]
    print("\n".join(report))
    print(f"{len(results)} checks, {len(report)} not passing")
    assert sum(r.status == Status.SUCCESS for r in results) > 100
    failing = [r for r in results if r.status in {Status.ERROR, Status.CRITICAL}]
    computed = [r for r in failing if only_computed_values_differ(r)]
    explained = {
        name: [r for r in failing if rule.search(r.reason or "")] for name, rule in KNOWN.items()
    }
    unexplained = [
        r
        for r in failing
        if r not in computed and not any(r in hits for hits in explained.values())
    ]
    assert unexplained == [], [(r.reason, r.data) for r in unexplained]
    # Every exception is still needed: one that matches nothing has been fixed, drop it.
    assert computed, "no computed readOnly values differ any more: drop COMPUTED"
    assert all(explained.values()), [name for name, hits in explained.items() if not hits]
    # Anything else not passing (a DEVIATION, a CRITICAL) is new: look at it, then list it.
    assert [r for r in results if r.status not in PASSING | {Status.ERROR}] == []
