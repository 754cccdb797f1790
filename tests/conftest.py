import importlib
import pkgutil

import pytest

import tests
from tests.accounts.factories import CompanyAdminFactory, CompanyFactory, UserFactory
from tests.browser import browser  # noqa: F401 — fixtures for every test package
from tests.processes import web_processes  # noqa: F401

# Every app's factories module registers its tenant objects (tests/tenancy.py) on import.
for module in pkgutil.walk_packages(tests.__path__, "tests."):
    if module.name.endswith(".factories"):
        importlib.import_module(module.name)


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
