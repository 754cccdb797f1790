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
# They all come from one: the assigned number is the `work` element of phoneNumbers, and only
# a number free in the company's pool can be written there (the issue). The tester writes
# random 10-digit `work` numbers, which are refused, and expects phoneNumbers to hold exactly
# what it wrote, while an active user keeps the assigned number (adding a value adds to it; a
# replace or remove without a work number never releases it: an identity provider's template
# without our number must not cost someone their phone line).
REFUSED_WORK_NUMBER = re.compile(r"The work number '\d+' is not an E\.164 number")


def only_the_assigned_number_differs(result) -> bool:
    data = result.data if isinstance(result.data, dict) else {}
    if data.get("urn") != "phoneNumbers" or "modify_actual" not in data:
        return False
    expected = [_dump(v) for v in data.get("expected") or []]
    actual = [_dump(v) for v in data["modify_actual"] or []]
    assigned = [v for v in actual if v["type"] == "work" and v["primary"]]
    return len(assigned) == 1 and [v for v in actual if v not in assigned] == expected


def _dump(value):
    return value.model_dump() if hasattr(value, "model_dump") else value


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
    refused = [r for r in failing if REFUSED_WORK_NUMBER.search(r.reason or "")]
    kept = [r for r in failing if only_the_assigned_number_differs(r)]
    unexplained = [r for r in failing if r not in refused and r not in kept]
    assert unexplained == [], [(r.reason, r.data) for r in unexplained]
    # Every exception is still needed: one that matches nothing has been fixed, drop it.
    assert refused, "no random work number is refused any more: drop REFUSED_WORK_NUMBER"
    assert kept, "phoneNumbers hold what the tester wrote: drop only_the_assigned_number_differs"
    # Anything else not passing (a DEVIATION, a CRITICAL) is new: look at it, then list it.
    assert [r for r in results if r.status not in PASSING | {Status.ERROR}] == []
