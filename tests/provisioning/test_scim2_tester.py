"""scim2-tester's check_server against the app, in-process over WSGI, with every resource type."""

import os
import random

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
    # Enough free numbers that every user the tester creates holds a line.
    for i in range(300):
        PhoneNumberFactory(company=company, office=main_office, number=f"+1415555{i:04d}")
    client = WSGISCIMClient(
        get_wsgi_application(),
        base_url=f"{settings.PUBLIC_BASE_URL}/scim/v2",
        headers={"Authorization": f"Bearer {api_key.raw}"},
    )
    # As Django's test client does: the test's transaction holds the connection, so a request
    # must not close it when it ends.
    # The tester draws its values with `random`: a fixed seed makes the run repeatable.
    random.seed(int(os.environ.get("SCIM2_TESTER_SEED", "7")))
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return check_server(client)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_check_server_passes_every_check(results):
    report = [
        f"{r.status.name} {r.resource_type or '-'} {r.title}: {(r.reason or '').splitlines()[0]}"
        for r in results
        if r.status not in PASSING
    ]
    print(f"{len(results)} checks, {len(report)} not passing")
    assert sum(r.status == Status.SUCCESS for r in results) > 100
    assert report == []
