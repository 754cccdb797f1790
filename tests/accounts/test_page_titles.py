"""Every object page of Admin Settings is named in the admin's words: the object's own name
("Ada Lovelace (ada@acme.example)", "London") or "Add a user", never Django's "Change user"."""

import re
from html import unescape

import pytest
from django.urls import reverse

from accounts.admin_site import admin_site
from accounts.audit import SYSTEM, Source, record_audit
from accounts.models import AuditEvent, User
from offices.models import Office
from tests.accounts.factories import CompanyAdminFactory, UserFactory
from tests.offices.factories import OfficeFactory
from tests.tenancy import TENANT_OBJECT_MAKERS

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin_site._registry, key=lambda model: model._meta.label)


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def headings(response) -> tuple[str, str]:
    """The page's <title> and its <h1>, as read."""
    body = response.content.decode()
    title = re.search(r"<title>(.*?)</title>", body, re.S)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    return (
        unescape(title.group(1)).strip() if title else "",
        unescape(re.sub(r"<[^>]+>", "", h1.group(1))).strip() if h1 else "",
    )


def generic(model) -> re.Pattern[str]:
    name = re.escape(str(model._meta.verbose_name))
    return re.compile(rf"^(Add|Change|View) {name}\b", re.I)


@pytest.fixture
def admin_client(client, company):
    client.force_login(CompanyAdminFactory(company=company, email="grace@acme.example"))
    return client


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_no_object_page_carries_djangos_title(model, admin_client, company):
    obj = TENANT_OBJECT_MAKERS[model](company)
    pages = [url(model, "add"), url(model, "change", obj.pk)]
    for page in pages:
        response = admin_client.get(page)
        if response.status_code != 200:
            continue  # no add page for this model (keys are added, never edited, and so on)
        title, h1 = headings(response)
        assert not generic(model).search(title), (page, title)
        assert not generic(model).search(h1), (page, h1)


def test_user_page_is_named_by_name_and_email(admin_client, company):
    user = UserFactory(
        company=company, email="ada@acme.example", given_name="Ada", family_name="Lovelace"
    )
    title, h1 = headings(admin_client.get(url(User, "change", user.pk)))
    assert h1 == "Ada Lovelace (ada@acme.example)"
    assert title.startswith("Ada Lovelace (ada@acme.example) | ")


def test_office_pages_say_add_an_office_and_the_office_name(admin_client, company):
    office = OfficeFactory(company=company, name="London")
    title, h1 = headings(admin_client.get(url(Office, "change", office.pk)))
    assert (h1, title) == ("London", "London | Admin Settings")
    title, h1 = headings(admin_client.get(url(Office, "add")))
    assert (h1, title) == ("Add an office", "Add an office | Admin Settings")
    title, h1 = headings(admin_client.get(url(User, "add")))
    assert (h1, title) == ("Add a user", "Add a user | Admin Settings")


def test_audit_event_page_is_named_by_its_label(admin_client, company):
    event = record_audit(
        actor=SYSTEM, source=Source.SYSTEM, action="license.seats_changed", company=company
    )
    title, h1 = headings(admin_client.get(url(AuditEvent, "change", event.pk)))
    assert (h1, title) == (
        "License seats changed by system",
        "License seats changed by system | Admin Settings",
    )
