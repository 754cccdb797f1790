"""In Chromium against the live server: a company admin adds an email domain, sees the TXT
record to publish (and copies it), presses Verify now against the test DNS server and sees it
verified; before that, a member of the unverified domain is not sent to SSO; after, they are."""

import pytest

from accounts.models import CompanyDomain, DomainStatus
from tests.accounts.factories import CompanyAdminFactory, UserFactory
from tests.browser import DESKTOP, artifacts_dir
from tests.sso.conftest import saml_with_test_idp
from tests.sso.test_browser import PASSWORD, site  # noqa: F401 — the live site with a test IdP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = artifacts_dir("domains")


def email_step(page, site, email):  # noqa: F811
    page.goto(f"{site}/login/")
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_admin_verifies_a_domain_and_only_then_it_routes_to_sso(
    browser,
    site,  # noqa: F811
    company,
    keys,
    dns_zone,
):
    saml_with_test_idp(company, site, keys)
    CompanyAdminFactory(company=company, email="admin@acme.example", given_name="Grace")
    UserFactory(company=company, email="ada@acme.example")
    context = browser.new_context(viewport=DESKTOP, base_url=site)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()

    # No domain verified: the admin (and everyone at acme.example) gets the password step.
    email_step(page, site, "admin@acme.example")
    assert page.url.startswith(f"{site}/login/")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/app/")

    page.goto(f"{site}/admin/accounts/companydomain/add/")
    page.fill("input[name=domain]", "acme.example")
    page.click("input[name=_save]")
    page.wait_for_load_state("networkidle")
    claim = CompanyDomain.objects.get(company=company)
    host = page.locator("#domain-record-host").inner_text()
    value = page.locator("#domain-record-value").inner_text()
    assert (host, value) == ("_switchboard.acme.example", f"switchboard-verification={claim.token}")
    assert "Not verified" in page.content()
    page.click("button[data-copy=domain-record-value]")
    page.wait_for_selector("text=Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == value
    page.screenshot(path=ARTIFACTS / "domain-claimed.png", full_page=True)

    # A member of the unverified domain is not sent to SSO.
    member = browser.new_context(viewport=DESKTOP).new_page()
    email_step(member, site, "ada@acme.example")
    assert member.url.startswith(f"{site}/login/")
    assert member.locator("input[name=password]").is_visible()
    member.screenshot(path=ARTIFACTS / "unverified-member-login.png", full_page=True)

    # Verify now before publishing: a clear status, nothing verified.
    page.click("#domain-verify-now")
    page.wait_for_load_state("networkidle")
    assert "does not exist in DNS yet" in page.content()
    claim.refresh_from_db()
    assert claim.status == DomainStatus.PENDING

    dns_zone.publish(host, value)
    page.click("#domain-verify-now")
    page.wait_for_load_state("networkidle")
    assert "Verified: the TXT record of acme.example was found" in page.content()
    assert page.locator(".domain-status-verified").inner_text() == "Verified"
    page.screenshot(path=ARTIFACTS / "domain-verified.png", full_page=True)
    claim.refresh_from_db()
    assert claim.status == DomainStatus.VERIFIED

    page.goto(f"{site}/admin/accounts/companydomain/")
    assert page.locator(".domain-status-verified").first.inner_text() == "Verified"
    page.screenshot(path=ARTIFACTS / "domain-list.png", full_page=True)

    # Now the member is sent to the company's IdP.
    email_step(member, site, "ada@acme.example")
    assert member.url.startswith(f"{site}/test-idp/sso?")
    context.close()
