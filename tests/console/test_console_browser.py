"""The console pages a company admin runs the company from, in Chromium at desktop and 390 px:
home with seat bars, the users directory and a user, ghost accounts, the audit log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.audit import SYSTEM, Source, record_audit
from accounts.models import AuditEvent, ManagedBy, User, UserStatus
from tests.accounts.factories import CompanyAdminFactory, CompanyFactory, UserFactory
from tests.console.browser import DESKTOP, PHONE, no_horizontal_scroll, shot, sign_in_with_password
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def make_company():
    company = CompanyFactory(slug="acme", name="Acme Corporation", seats=5)
    CompanyAdminFactory(
        company=company, email="admin@acme.example", given_name="Grace", family_name="Hopper"
    )
    hq = OfficeFactory(company=company, name="San Francisco", is_main=True)
    berlin = OfficeFactory(company=company, name="Berlin", country="DE", timezone="Europe/Berlin")
    people = [
        ("Ada", "Lovelace", "talk", hq, ManagedBy.SCIM, "+14155550101"),
        ("Alan", "Turing", "talk", hq, ManagedBy.SCIM, "+14155550102"),
        ("Katherine", "Johnson", "contact_center", hq, ManagedBy.SCIM, None),
        ("Edsger", "Dijkstra", "sales", berlin, ManagedBy.MANUAL, "+14155550104"),
        ("Barbara", "Liskov", "talk", berlin, ManagedBy.SCIM, "+14155550105"),
    ]
    for given, family, license_type, office, managed_by, number in people:
        user = UserFactory(
            company=company,
            email=f"{given.lower()}@acme.example",
            given_name=given,
            family_name=family,
            title="Engineer",
            license_type=license_type,
            office=office,
            managed_by=managed_by,
            scim_user_name=f"{given.lower()}@acme.example"
            if managed_by == ManagedBy.SCIM
            else None,
        )
        if number:
            PhoneNumberFactory(company=company, number=number, office=office, assigned_user=user)
    UserFactory(
        company=company,
        email="sam@acme.example",
        given_name="Sam",
        family_name="Gone",
        status=UserStatus.SUSPENDED,
    )
    ada = User.objects.get(email="ada@acme.example")
    record_audit(
        actor=SYSTEM,
        source=Source.SCIM,
        action="user.updated",
        company=company,
        target=ada,
        before={"title": "Analyst"},
        after={"title": "Engineer"},
    )
    # Alan was last changed over SCIM two months ago: a ghost candidate at 30 days.
    alan = User.objects.get(email="alan@acme.example")
    old = record_audit(
        actor=SYSTEM, source=Source.SCIM, action="user.created", company=company, target=alan
    )
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=60))
    for user in User.objects.filter(email__in=["katherine@acme.example", "barbara@acme.example"]):
        record_audit(
            actor=SYSTEM, source=Source.SCIM, action="user.created", company=company, target=user
        )
    return company


@pytest.mark.parametrize(("device", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_console_pages(browser, live_server, device, viewport):
    make_company()
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    page = context.new_page()
    sign_in_with_password(page, live_server.url, "admin@acme.example")
    shot(page, f"{device}-home")
    assert "3 of 5" in page.inner_text("#section-my-company")  # talk seats held
    assert no_horizontal_scroll(page)

    with page.expect_navigation():
        page.click("#section-users th a:text-is('Users')")
    shot(page, f"{device}-users", doc="users-directory" if device == "desktop" else None)
    assert no_horizontal_scroll(page)
    page.fill("#searchbar", "(415) 555-0105")
    with page.expect_navigation():
        page.press("#searchbar", "Enter")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "Liskov" in page.inner_text("#result_list")

    with page.expect_navigation():
        page.click("#result_list a:text-is('barbara@acme.example')")
    assert "managed by your identity provider" in page.inner_text("#content-main")
    shot(page, f"{device}-user")
    assert no_horizontal_scroll(page)

    page.goto(f"{live_server.url}/admin/")
    with page.expect_navigation():  # read the list once it is there, not while it loads
        page.click("#section-users th a:text-is('Ghost accounts')")
    listed = page.inner_text("#result_list")
    assert "alan@acme.example" in listed
    assert "edsger@acme.example" in listed
    assert "ada@acme.example" not in listed
    shot(page, f"{device}-ghosts")
    assert no_horizontal_scroll(page)

    page.goto(f"{live_server.url}/admin/")
    with page.expect_navigation():
        page.click("#section-audit th a:text-is('Audit events')")
    shot(page, f"{device}-audit")
    assert no_horizontal_scroll(page)
    context.close()
