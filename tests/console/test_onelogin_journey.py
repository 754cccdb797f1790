"""The OneLogin setup guide, end to end, in Chromium against a live server.

The admin signs in, follows the breadcrumb path to API Keys and adds a key; configures SAML from
the IdP's entity id and certificate and copies the SP SSO URL; turns on approval for updates.
A SCIM client (plain HTTP with that key, as OneLogin would) creates a user — who appears in the
directory — and renames them, which waits for approval; the approver approves in the browser;
the directory shows the new name; the user signs in through SAML and lands on /app/. Then the
key pages and the login page at 390 px. Screenshots: test-artifacts/console/journey-*.png.
"""

import json
import urllib.error
import urllib.request

import pytest

from accounts.models import User
from approvals.models import ChangeStatus, PendingChange
from tests.accounts.factories import CompanyAdminFactory, CompanyDomainFactory, CompanyFactory
from tests.console.browser import DESKTOP, PHONE, no_horizontal_scroll, shot, sign_in_with_password
from tests.offices.factories import OfficeFactory, PhoneNumberFactory
from tests.sso import idp_urls
from tests.sso.saml_idp import TestIdP

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

IDP_ENTITY_ID = "https://app.onelogin.com/saml/metadata/0a1b2c3d-test"
SWITCHBOARD_USER = "urn:ietf:params:scim:schemas:extension:switchboard:2.0:User"


@pytest.fixture
def site(live_server, settings, idp_key):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.ROOT_URLCONF = "tests.sso.idp_urls"  # the site plus a stand-in IdP sign-in page
    idp_urls.IDP["idp"] = TestIdP(
        IDP_ENTITY_ID, idp_key, ("acme",), sso_url=f"{live_server.url}/test-idp/sso"
    )
    return live_server.url


def scim(base_url, token, method, path, body=None):
    """What OneLogin does: HTTP with the bearer token and application/scim+json."""
    request = urllib.request.Request(  # noqa: S310 — the live server's http URL
        f"{base_url}/scim/v2/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
            "Accept": "application/scim+json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def sign_in_with_sso(page, site, email, *, then):
    """Email-first sign-in → our SP → the IdP's sign-in page → the ACS → where we were going."""
    if "/login/" not in page.url:
        page.goto(f"{site}/login/")
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/test-idp/sso?**")
    page.fill("input[name=email]", email)
    page.click("button")
    page.wait_for_url(then)


def test_onelogin_setup_journey(browser, site, idp_key):
    company = CompanyFactory(slug="acme", name="Acme Corporation", seats=10)
    CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    CompanyAdminFactory(
        company=company, email="grace@acme.example", given_name="Grace", family_name="Hopper"
    )
    office = OfficeFactory(company=company, name="San Francisco", is_main=True)
    PhoneNumberFactory(company=company, number="+14155550199", office=office)

    context = browser.new_context(viewport=DESKTOP, base_url=site)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()

    # 1. Sign in, then Admin Settings › My Company › Authentication › API Keys by the links.
    sign_in_with_password(page, site, "grace@acme.example")
    shot(page, "journey-01-home")
    page.click("#section-my-company caption a")
    page.click("#content-main a:text-is('Authentication')")
    shot(page, "journey-02-authentication")
    page.click("#content-main a:text-is('API Keys')")
    crumbs = " ".join(page.inner_text(".breadcrumbs").split())
    assert crumbs == "Admin Settings › My Company › Authentication › API Keys"

    # 2. Add a key for OneLogin and read it from the page (shown exactly once).
    page.click("text=Add a Key")
    page.fill("#id_name", "OneLogin provisioning")
    page.click("input[value='Create key']")
    token = page.input_value("#api-key-secret")
    assert token.startswith("sbk_")
    shot(page, "journey-03-api-key-created", doc="api-key-created")

    # 3. SAML: paste the IdP's entity id, SSO URL and certificate; copy our SP SSO URL.
    page.click(".breadcrumbs a:text-is('Authentication')")
    page.click("#content-main a:text-is('SAML SSO')")
    page.fill("input[name=idp_entity_id]", IDP_ENTITY_ID)
    page.fill("input[name=idp_sso_url]", f"{site}/test-idp/sso")
    page.fill("textarea[name=idp_certificate]", idp_key.cert_pem)
    page.check("input[name=enabled]")
    page.click("input[type=submit]")
    assert "SAML settings saved." in page.content()
    page.click("button[data-copy='acs-url']")
    page.wait_for_function("navigator.clipboard.readText().then(t => t.length > 0)")
    acs_url = page.evaluate("navigator.clipboard.readText()")
    assert acs_url == f"{site}/sso/acme/acs/"
    shot(page, "journey-04-saml", doc="saml-sso")

    # 4. SCIM Provisioning: the base URL for OneLogin, and approval for updates.
    page.click(".breadcrumbs a:text-is('Authentication')")
    page.click("#content-main a:text-is('SCIM Provisioning')")
    assert page.input_value("#scim-base-url") == f"{site}/scim/v2/"
    assert "Waiting for the first request" in page.inner_text("#status-health")
    page.check("input[name=require_update]")
    page.click("input[value='Save']")
    assert "Provisioning policy saved." in page.content()
    shot(page, "journey-05-scim-provisioning")

    # 5. OneLogin creates a user over SCIM: they appear in the directory.
    status, created = scim(
        site,
        token,
        "POST",
        "Users",
        # The README's OneLogin SCIM JSON Template, as OneLogin fills it in.
        {
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                SWITCHBOARD_USER,
            ],
            "userName": "ada@acme.example",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@acme.example", "type": "work", "primary": True}],
            "title": "Analyst",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Engineering"
            },
            SWITCHBOARD_USER: {
                "licenseType": "talk",
                "officeName": "San Francisco",
                "areaCode": "415",
            },
        },
    )
    assert status == 201, created
    ada = User.objects.get(pk=created["id"])
    assert (ada.title, ada.department, ada.license_type) == ("Analyst", "Engineering", "talk")
    assert ada.office.name == "San Francisco"
    page.goto(f"{site}/admin/")
    page.click("#section-users th a:text-is('Users')")
    assert "Ada Lovelace" in page.inner_text("#result_list")
    assert "+1 415-555-0199" in page.inner_text("#result_list")
    shot(page, "journey-06-directory-created")

    # 6. OneLogin renames her: the change waits for an approver (202).
    status, body = scim(
        site,
        token,
        "PATCH",
        f"Users/{created['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "name.familyName", "value": "King"}],
        },
    )
    assert status == 202, body
    assert User.objects.get(pk=created["id"]).family_name == "Lovelace"
    page.goto(f"{site}/admin/")
    assert "Pending approvals (1)" in page.inner_text("#section-approvals")
    shot(page, "journey-07-home-pending")

    # 7. The approver approves it in the browser.
    page.click("#section-approvals th a")
    page.click("#result_list a:has-text('ada@acme.example')")
    assert "King" in page.inner_text("table.diff")
    shot(page, "journey-08-approval", doc="pending-approval")
    page.click("button[value=approve]")
    assert "approved" in page.inner_text(".messagelist")
    assert PendingChange.objects.get().status == ChangeStatus.APPLIED

    # 8. The directory shows the new name; the status panel counts what OneLogin did.
    page.goto(f"{site}/admin/accounts/user/?q=ada")
    assert "Ada King" in page.inner_text("#result_list")
    shot(page, "journey-09-directory-renamed")
    page.goto(f"{site}/admin/scim-provisioning/")
    counts = page.inner_text("#status-counts")
    assert "Users created\t1" in counts
    assert "Changes queued for approval\t1" in counts
    assert "Connected" in page.inner_text("#status-health")
    page.locator("#provisioning-status").scroll_into_view_if_needed()
    shot(page, "journey-10-provisioning-status", doc="scim-provisioning-status")
    page.locator("#logout-form button").first.click()
    page.wait_for_load_state("networkidle")

    # 9. Ada signs in through SAML from the IdP and sees /app/.
    sign_in_with_sso(page, site, "ada@acme.example", then=f"{site}/app/")
    assert "Ada" in page.content()
    assert "San Francisco" in page.content()
    shot(page, "journey-11-app")
    context.close()

    # 10. On a phone: the login page, and the key pages for the admin.
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = phone.new_page()
    page.goto(f"{site}/login/")
    assert no_horizontal_scroll(page)
    shot(page, "journey-phone-login")
    # acme.example signs in through OneLogin now, the admin too.
    page.goto(f"{site}/admin/")
    sign_in_with_sso(page, site, "grace@acme.example", then=f"{site}/admin/")
    assert no_horizontal_scroll(page)
    shot(page, "journey-phone-home")
    page.goto(f"{site}/admin/apikeys/apikey/")
    assert "OneLogin provisioning" in page.inner_text("#result_list")
    assert no_horizontal_scroll(page)
    shot(page, "journey-phone-api-keys")
    page.click("text=Add a Key")
    assert no_horizontal_scroll(page)
    shot(page, "journey-phone-api-key-add")
    page.goto(f"{site}/admin/scim-provisioning/")
    assert no_horizontal_scroll(page)
    shot(page, "journey-phone-scim-provisioning")
    phone.close()
