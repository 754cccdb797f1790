"""A company admin configures SAML on the settings page, then people sign in through the IdP —
in headless Chromium against the live server, at desktop and phone widths. Screenshots land in
test-artifacts/ (gitignored)."""

import pytest

from accounts.models import User, UserStatus
from tests.accounts.factories import CompanyAdminFactory, CompanyDomainFactory, UserFactory
from tests.browser import artifacts_dir
from tests.offices.factories import OfficeFactory, PhoneNumberFactory
from tests.sso import idp_urls
from tests.sso.conftest import ACME_IDP
from tests.sso.saml_idp import TestIdP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = artifacts_dir("sso")
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def site(live_server, settings, keys):
    # Every absolute URL we hand out (ACS, entity id) is the live server's; the test IdP's
    # sign-in page is served beside the site (tests/sso/idp_urls.py).
    settings.PUBLIC_BASE_URL = live_server.url
    settings.ROOT_URLCONF = "tests.sso.idp_urls"
    idp_urls.IDP["idp"] = TestIdP(
        ACME_IDP, keys["acme"], ("acme",), sso_url=f"{live_server.url}/test-idp/sso"
    )
    return live_server.url


def sign_in_with_sso(page, site, email):
    """/login/ → our SP → the (test) IdP's sign-in page → the ACS → where we were going."""
    page.goto(f"{site}/login/")
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/test-idp/sso?**")
    page.fill("input[name=email]", email)
    page.click("button")
    page.wait_for_load_state("networkidle")


def no_horizontal_scroll(page):
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_admin_configures_saml_and_people_sign_in(browser, site, company, keys):
    CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    CompanyAdminFactory(company=company, email="admin@acme.example", given_name="Grace")
    office = OfficeFactory(company=company, name="San Francisco", is_main=True)
    ada = UserFactory(
        company=company,
        email="ada@acme.example",
        given_name="Ada",
        family_name="Lovelace",
        title="Head of Engineering",
        license_type="talk",
        office=office,
    )
    PhoneNumberFactory(company=company, number="+14155550123", office=office, assigned_user=ada)
    UserFactory(company=company, email="sam@acme.example", status=UserStatus.SUSPENDED)

    # --- desktop: the company admin sets up SAML on the settings page ---
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desktop.new_page()
    page.goto(f"{site}/admin/")
    assert "/login/" in page.url
    page.fill("input[name=email]", "admin@acme.example")
    page.click("button[type=submit]")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/admin/")
    page.click("text=Authentication")
    page.click("text=SAML SSO")
    assert page.locator(".breadcrumbs").inner_text().split() == [
        "Admin",
        "Settings",
        "›",
        "My",
        "Company",
        "›",
        "Authentication",
        "›",
        "SAML",
        "SSO",
    ]
    assert page.locator("#acs-url").inner_text() == f"{site}/sso/acme/acs/"
    page.fill("input[name=idp_entity_id]", ACME_IDP)
    page.fill("input[name=idp_sso_url]", f"{site}/test-idp/sso")
    page.fill("textarea[name=idp_certificate]", keys["acme"].cert_base64)
    page.check("input[name=enabled]")
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "SAML settings saved." in page.content()
    assert "SHA-256 fingerprint" in page.content()
    page.screenshot(path=ARTIFACTS / "sso-settings-desktop.png", full_page=True)
    page.locator("form[action='/admin/logout/'] button, #logout-form button").first.click()
    page.wait_for_load_state("networkidle")
    assert "/login/" in page.url

    # --- desktop: a member signs in through the IdP (SP-initiated), lands on /app/ ---
    sign_in_with_sso(page, site, "ada@acme.example")
    assert page.url == f"{site}/app/"
    assert "Hello, Ada" in page.content()
    assert "Talk" in page.content()
    assert "San Francisco" in page.content()
    assert "+1 415-555-0123" in page.content()
    page.screenshot(path=ARTIFACTS / "sso-app-desktop.png", full_page=True)
    page.click("text=Sign out")
    page.wait_for_load_state("networkidle")
    assert "You are signed out." in page.content()
    page.screenshot(path=ARTIFACTS / "sso-login-desktop.png", full_page=True)
    desktop.close()

    # --- phone (390 px): sign in, /app/, the login page, and a friendly refusal ---
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = phone.new_page()
    page.goto(f"{site}/login/")
    assert no_horizontal_scroll(page)
    page.screenshot(path=ARTIFACTS / "sso-login-phone.png", full_page=True)
    sign_in_with_sso(page, site, "ada@acme.example")
    assert page.url == f"{site}/app/"
    assert no_horizontal_scroll(page)
    page.screenshot(path=ARTIFACTS / "sso-app-phone.png", full_page=True)
    page.click("text=Sign out")
    page.wait_for_load_state("networkidle")

    sign_in_with_sso(page, site, "sam@acme.example")
    assert "suspended" in page.content()
    assert "contact your company" in page.content()
    assert no_horizontal_scroll(page)
    page.screenshot(path=ARTIFACTS / "sso-error-phone.png", full_page=True)
    phone.close()
    assert User.objects.get(email="sam@acme.example").status == UserStatus.SUSPENDED
