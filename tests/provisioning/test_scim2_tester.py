"""scim2-tester's check_server against the app, in-process over WSGI, with every resource type:
a company of one office, and one of offices in three countries whose discovery advertises every
office and every area code of its numbers (any of them with any other is accepted)."""

import os
import random

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

from tests.offices.factories import OfficeFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.SKIPPED}
SEEDS = range(1, 11)


def run_check_server(settings, api_key, seed):
    client = WSGISCIMClient(
        get_wsgi_application(),
        base_url=f"{settings.PUBLIC_BASE_URL}/scim/v2",
        headers={"Authorization": f"Bearer {api_key.raw}"},
    )
    # As Django's test client does: the test's transaction holds the connection, so a request
    # must not close it when it ends.
    # The tester draws its values with `random`: a fixed seed makes the run repeatable.
    random.seed(seed)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return check_server(client)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def not_passing(results):
    return [
        f"{r.status.name} {r.resource_type or '-'} {r.title}: {(r.reason or '').splitlines()[0]}"
        for r in results
        if r.status not in PASSING
    ]


@pytest.fixture
def results(settings, api_key, main_office, company):
    # Enough free numbers that every user the tester creates holds a line.
    for i in range(300):
        PhoneNumberFactory(company=company, office=main_office, number=f"+1415555{i:04d}")
    return run_check_server(settings, api_key, int(os.environ.get("SCIM2_TESTER_SEED", "7")))


def test_check_server_passes_every_check(results):
    report = not_passing(results)
    print(f"{len(results)} checks, {len(report)} not passing")
    assert sum(r.status == Status.SUCCESS for r in results) > 100
    assert report == []


@pytest.fixture
def offices_in_three_countries(company, main_office):
    """HQ in San Francisco (415), New York (212), London (20), a French office without numbers,
    and a reserve of 415 numbers."""
    new_york = OfficeFactory(company=company, name="New York", country="US")
    london = OfficeFactory(company=company, name="London", country="GB", timezone="Europe/London")
    OfficeFactory(company=company, name="Paris", country="FR", timezone="Europe/Paris")
    for i in range(60):
        PhoneNumberFactory(company=company, office=main_office, number=f"+1415555{i:04d}")
        PhoneNumberFactory(company=company, office=new_york, number=f"+1212555{i:04d}")
        PhoneNumberFactory(company=company, office=london, number=f"+44207946{i:04d}")
        PhoneNumberFactory(company=company, office=None, number=f"+1415556{i:04d}")


@pytest.mark.parametrize("seed", SEEDS)
def test_check_server_passes_for_a_company_with_offices_in_several_countries(
    settings, api_key, offices_in_three_countries, seed
):
    results = run_check_server(settings, api_key, seed)
    report = not_passing(results)
    assert sum(r.status == Status.SUCCESS for r in results) > 100
    assert report == []
