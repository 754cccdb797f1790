"""The Content-Security-Policy in Chromium: /login/, Admin Settings (every list page, the SAML
and SCIM pages, the users list's select-all and actions), the API docs, SAML sign-in and /app/
run with no `securitypolicyviolation` event and no CSP error on the console, and their
interactive parts still work."""

import pytest

from accounts.admin_site import admin_site
from tests.accounts.factories import CompanyAdminFactory, CompanyDomainFactory, UserFactory
from tests.approvals.factories import make_pending_change
from tests.browser import artifacts_dir
from tests.offices.factories import OfficeFactory
from tests.sso.conftest import keys, saml_with_test_idp  # noqa: F401 — the IdP's keys fixture
from tests.sso.test_browser import site  # noqa: F401 — the live site with a test IdP

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ARTIFACTS = artifacts_dir("csp")

# Recorded from the first script of every document, before any page script runs (Playwright's
# init scripts are not subject to the page's policy).
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` on ${document.location.pathname}`);
});
"""


@pytest.fixture
def acme(site, company, keys):  # noqa: F811 — the fixtures imported above
    CompanyDomainFactory(company=company, domain="acme.example")
    CompanyAdminFactory(company=company, email="admin@acme.example", given_name="Grace")
    office = OfficeFactory(company=company, name="San Francisco", is_main=True)
    for name in ("ada", "alan", "edsger"):
        UserFactory(company=company, email=f"{name}@acme.example", given_name=name.title(),
                    office=office, license_type="talk")  # fmt: skip
    make_pending_change(company)
    saml_with_test_idp(company, site, keys)
    return company


class Watched:
    """A browser context whose pages report every CSP violation and CSP console error."""

    def __init__(self, browser, base_url, **options):
        self.context = browser.new_context(base_url=base_url, **options)
        self.context.add_init_script(WATCH_VIOLATIONS)
        self.console = []
        self.violations = []
        self.page = self.context.new_page()
        self.page.on("console", self._console)

    def _console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.console.append(message.text)

    def goto(self, path):
        response = self.page.goto(path)
        assert response is not None, path
        assert response.ok, (path, response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        return response

    def collect(self):
        """This document's violations (call before leaving it)."""
        self.violations += self.page.evaluate("() => window.__csp || []")

    def assert_clean(self):
        self.collect()
        assert self.violations == []
        assert self.console == []


def sign_in_with_sso(watched, base_url, email, then):
    """SP-initiated: our SAML login → the (test) IdP's page → our ACS → `then`."""
    watched.page.goto(f"/sso/acme/login/?next={then}")  # lands on the IdP's page, not ours
    watched.page.wait_for_url(f"{base_url}/test-idp/sso?**")
    watched.page.fill("input[name=email]", email)
    watched.page.click("button")
    watched.page.wait_for_url(f"{base_url}{then}")
    watched.collect()


def test_pages_run_under_the_policy_and_still_work(browser, site, acme):  # noqa: F811
    admin = Watched(browser, site, permissions=["clipboard-read", "clipboard-write"])
    page = admin.page
    admin.goto("/login/")
    admin.collect()
    sign_in_with_sso(admin, site, "admin@acme.example", "/admin/")

    # Every list page of Admin Settings, read from the registry.
    for model in admin_site._registry:
        admin.goto(f"/admin/{model._meta.app_label}/{model._meta.model_name}/")
        admin.collect()

    # Seats: read-only for a company admin, with whom to ask.
    admin.goto("/admin/accounts/licenseseats/")
    assert "Ask your account manager" in page.inner_text("#seats-help")
    page.screenshot(path=ARTIFACTS / "licenses.png", full_page=True)
    with page.expect_navigation():
        page.click("#result_list tbody tr:first-child th a")
    assert page.locator("input[name=seats]").count() == 0
    page.screenshot(path=ARTIFACTS / "license-seats.png", full_page=True)
    admin.collect()

    # The users list: select-all ticks every row and the actions bar counts them.
    admin.goto("/admin/accounts/user/")
    page.click("#action-toggle")
    rows = page.locator("input.action-select")
    assert rows.count() >= 4
    assert all(rows.nth(i).is_checked() for i in range(rows.count()))
    assert "selected" in page.inner_text(".action-counter")
    page.select_option("select[name=action]", index=1)
    page.screenshot(path=ARTIFACTS / "users-select-all.png")
    admin.collect()

    # The SAML settings page's Copy buttons and the SCIM page's.
    admin.goto("/admin/authentication/saml-sso/")
    page.click("button[data-copy=acs-url]")
    page.wait_for_function(
        "() => document.querySelector('button[data-copy=acs-url]').textContent === 'Copied'"
    )
    page.screenshot(path=ARTIFACTS / "saml-settings.png", full_page=True)
    admin.collect()
    admin.goto("/admin/scim-provisioning/")
    page.click("#copy-scim-url")
    page.wait_for_selector("#copy-done", state="visible")
    admin.collect()

    # The API docs: Swagger UI renders the operations and opens one.
    admin.goto("/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    assert "Switchboard API" in page.inner_text(".swagger-ui .info")
    page.locator(".swagger-ui .opblock-summary").first.click()
    page.wait_for_selector(".swagger-ui .try-out__btn")
    page.screenshot(path=ARTIFACTS / "api-docs.png")
    admin.assert_clean()
    admin.context.close()

    # A member signs in through SAML (SP-initiated) and lands on /app/.
    member = Watched(browser, site)
    sign_in_with_sso(member, site, "ada@acme.example", "/app/")
    assert "Ada" in member.page.inner_text("main")
    member.page.screenshot(path=ARTIFACTS / "app.png")
    member.assert_clean()
    member.context.close()
