import importlib
import pkgutil

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache

import tests
from apikeys import key_cache
from sso import settings_cache
from tests.accounts.factories import CompanyAdminFactory, CompanyFactory, UserFactory
from tests.browser import browser  # noqa: F401 — fixtures for every test package
from tests.dns_server import dns_server_process, dns_zone  # noqa: F401
from tests.processes import web_processes  # noqa: F401

# Every app's factories module registers its tenant objects (tests/tenancy.py) on import.
for module in pkgutil.walk_packages(tests.__path__, "tests."):
    if module.name.endswith(".factories"):
        importlib.import_module(module.name)


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty shared cache (Redis, scripts/with-services): each run's new
    test database hands out the same ids again, and entries a run minutes ago left under them
    (where a /Users walk stood, provisioning/scim/listing.py) must not leak into this one.
    Likewise the content-type ids Django keeps per process: a transactional test's flush and
    reload may hand out other ids, and an admin log entry must not point at a stale one; and the
    API keys and SAML settings this process read (apikeys/key_cache.py, sso/settings_cache.py):
    rolled back rows send no signal."""
    cache.clear()
    ContentType.objects.clear_cache()
    key_cache.forget()
    settings_cache.forget()


@pytest.fixture
def company(db):
    return CompanyFactory(slug="acme", name="Acme", seats=10)


@pytest.fixture
def other_company(db):
    return CompanyFactory(slug="globex", name="Globex", seats=10)


@pytest.fixture
def company_admin(company):
    return CompanyAdminFactory(company=company, email="admin@acme.example")


@pytest.fixture
def member(company):
    return UserFactory(company=company, email="member@acme.example")


@pytest.fixture
def company_admin_client(client, company_admin):
    client.force_login(company_admin)
    return client


def pytest_collection_modifyitems(items):
    """Every transactional test restores the serialized test database on setup.

    A transactional test's teardown flushes the tables; without serialized rollback Django then
    re-runs post_migrate, which recreates content types and permissions under new ids, and the
    next serialized-rollback test (which reloads the originals) fails on duplicate keys. With
    every transactional test serialized, teardown leaves the tables empty and setup reloads the
    originals (content types, permissions, data migrations such as area codes), in any order.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = dict(marker.kwargs) if marker is not None else {}
        fixtures = set(getattr(item, "fixturenames", ()))
        transactional = kwargs.get("transaction") or {"transactional_db", "live_server"} & fixtures
        if transactional and not kwargs.get("serialized_rollback"):
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)
