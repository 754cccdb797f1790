"""The pages this console's company admins, approvers, members and operators open, walked in
Chromium at 1366×900 and 390×844: no error page, no sign-in loop, no Django default title, no
"(s)" plural; screenshots in test-artifacts/console-walk/ for a person to look at."""

import re

import pytest
from django.urls import reverse

from accounts.models import Role, User
from approvals.models import ChangeStatus, PendingChange
from offices.models import PhoneNumber
from tests.accounts.factories import CompanyAdminFactory, CompanyFactory, UserFactory
from tests.apikeys.factories import make_api_key
from tests.approvals.factories import policy, queue_create, queue_update
from tests.browser import artifacts_dir
from tests.console.browser import PASSWORD, PHONE, no_horizontal_scroll
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDE = {"width": 1366, "height": 900}
DEFAULT_TITLE = re.compile(r"Select .+ to (change|view)")


def make_company():
    company = CompanyFactory(slug="acme", name="Acme Corporation", seats=5, plan="enterprise")
    CompanyAdminFactory(company=company, email="admin@acme.example", password=PASSWORD)
    UserFactory(
        company=company,
        email="approver@acme.example",
        role=Role.MEMBER,
        is_approver=True,
        password=PASSWORD,
    )
    UserFactory(company=company, email="member@acme.example", password=PASSWORD)
    hq = OfficeFactory(company=company, name="San Francisco", is_main=True)
    ada = UserFactory(company=company, email="ada@acme.example", office=hq, license_type="talk")
    PhoneNumberFactory(company=company, number="+14155550101", office=hq, assigned_user=ada)
    PhoneNumberFactory(company=company, number="+14155550102", office=hq)
    make_api_key(company, name="OneLogin provisioning")
    policy(company, "create", "update")
    queue_update(company, ada, {"title": "CTO", "department": "R&D"})
    queue_create(
        company,
        {
            "email": "grace@acme.example",
            "given_name": "Grace",
            "email_addresses": [{"value": "grace@acme.example", "primary": True}],
        },
    )
    User.objects.create_superuser("ops@switchboard.example", PASSWORD)
    return company, hq, ada


def sign_in(page, base_url, email):
    page.goto(f"{base_url}/login/")
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def visit(page, base_url, path, name, *, status=200):
    response = page.goto(f"{base_url}{path}")
    assert response is not None
    assert response.status == status, (path, response.status)
    text = page.inner_text("body")
    assert not DEFAULT_TITLE.search(text), path
    assert "(s)" not in text, path
    page.screenshot(path=artifacts_dir("console-walk") / f"{name}.png", full_page=True)
    return text


@pytest.mark.parametrize(("device", "viewport"), [("desktop", WIDE), ("phone", PHONE)])
def test_walk_the_console_as_each_role(browser, live_server, device, viewport):
    _, hq, ada = make_company()
    base = live_server.url
    admin_pages = {
        "home": "/admin/",
        "pending": reverse("admin:approvals_pendingchange_changelist"),
        "audit": reverse("admin:accounts_auditevent_changelist"),
        "api-keys": reverse("admin:apikeys_apikey_changelist"),
        "saml": reverse("sso_settings"),
        "scim": reverse("scim_provisioning"),
        "offices": reverse("admin:offices_office_changelist"),
        "office": reverse("admin:offices_office_change", args=[hq.pk]),
        "office-add": reverse("admin:offices_office_add"),
        "area-codes": reverse("area_codes") + "?q=415",
        "users": reverse("admin:accounts_user_changelist"),
        "user": reverse("admin:accounts_user_change", args=[ada.pk]),
        "user-add": reverse("admin:accounts_user_add"),
        "company": reverse("admin:accounts_company_changelist"),
        "licenses": reverse("admin:accounts_licenseseats_changelist"),
    }
    change = PendingChange.objects.filter(status=ChangeStatus.PENDING).order_by("pk").first()
    admin_pages["pending-detail"] = reverse(
        "admin:approvals_pendingchange_change", args=[change.pk]
    )

    # Company admin: every page opens, none scrolls sideways on a phone.
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, base, "admin@acme.example")
    for name, path in admin_pages.items():
        visit(page, base, path, f"{device}-admin-{name}")
        if device == "desktop":
            assert no_horizontal_scroll(page), name
    # The new key's page: shown once, then "already shown".
    page.goto(f"{base}{reverse('admin:apikeys_apikey_add')}")
    page.fill("input[name=name]", "Okta")
    page.click("input[type=submit][name=_save]")
    page.wait_for_selector("#api-key-secret")
    page.screenshot(path=artifacts_dir("console-walk") / f"{device}-admin-key-created.png")
    page.reload()
    assert "already shown" in page.inner_text("#content-main")
    # Releasing numbers asks first, naming who loses which number.
    page.goto(f"{base}{reverse('admin:offices_phonenumber_changelist')}")
    held = PhoneNumber.objects.get(number="+14155550101")
    page.check(f"input[name=_selected_action][value='{held.pk}']")
    page.select_option("select[name=action]", "release")
    page.click("button[name=index]")
    page.wait_for_selector("#released-numbers")
    page.screenshot(
        path=artifacts_dir("console-walk") / f"{device}-admin-release-confirm.png", full_page=True
    )
    assert "Release 1 number?" in page.inner_text("body")
    assert "ada@acme.example" in page.inner_text("#released-numbers")
    assert no_horizontal_scroll(page)
    held.refresh_from_db()
    assert held.assigned_user is not None  # asked, not done
    page.click("input[type=submit][value='Release 1 number']")
    page.wait_for_selector(".messagelist")
    assert "Released 1 phone number." in page.inner_text(".messagelist")
    context.close()

    # Approver: Pending approvals opens; every other page is a 403 that points there.
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, base, "approver@acme.example")
    text = visit(page, base, "/app/", f"{device}-approver-home")
    assert "Admin Settings" not in text
    page.click("text=Pending approvals")
    assert "/admin/approvals/pendingchange/" in page.url
    visit(page, base, admin_pages["pending"], f"{device}-approver-pending")
    text = visit(page, base, admin_pages["users"], f"{device}-approver-users", status=403)
    assert "Go to Pending approvals" in text
    context.close()

    # Member: Admin Settings is a 403 that points to /app/, never a sign-in loop.
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, base, "member@acme.example")
    text = visit(page, base, "/admin/", f"{device}-member-admin", status=403)
    assert "Go to your home page" in text
    page.goto(f"{base}/login/?next=/admin/")
    assert page.url.endswith("/admin/")
    context.close()

    # Operator: the pages open for every company.
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, base, "ops@switchboard.example")
    for name in ("home", "company", "audit", "area-codes", "offices"):
        visit(page, base, admin_pages[name], f"{device}-operator-{name}")
    context.close()
