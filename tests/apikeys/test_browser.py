"""The API Keys pages in a real browser, at desktop width and on a 390 px phone: the journey a
company admin takes, with screenshots saved to test-artifacts/ for a human to judge."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys.models import APIKey
from apikeys.services import AuthenticationFailed, authenticate
from tests.accounts.factories import CompanyAdminFactory, CompanyFactory
from tests.apikeys.factories import make_api_key
from tests.browser import DESKTOP, PHONE, artifacts_dir

# serialized_rollback: a plain flush would wipe the data migrations' rows (area codes) for every
# test that runs after this one.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ARTIFACTS = artifacts_dir("apikeys")
PASSWORD = "correct-horse-battery-staple"


@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", DESKTOP), ("phone", PHONE)],
)
def test_admin_adds_copies_and_revokes_a_key(browser, live_server, device, viewport):
    company = CompanyFactory(slug="acme", name="Acme Corporation", seats=5)
    CompanyAdminFactory(company=company, email="admin@acme.example", given_name="Ada")
    older, _ = make_api_key(company, name="Okta (old tenant)", scopes=["scim", "api:read"])
    authenticate(raw_key=make_api_key(company, name="Reporting script")[1], client_ip="203.0.113.8")
    APIKey.objects.filter(pk=older.pk).update(expires_at=timezone.now() - timedelta(days=2))

    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.goto("/admin/")  # sends a signed-out admin to the email-first sign-in
    page.fill("input[name=email]", "admin@acme.example")
    page.click("button[type=submit]")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    # Admin Settings › My Company › Authentication › API Keys, by following links.
    page.click("#section-my-company caption a")
    page.click("#content-main a:text-is('Authentication')")
    page.screenshot(path=ARTIFACTS / f"{device}-1-authentication.png", full_page=True)
    page.click("#content-main a:text-is('API Keys')")
    crumbs = " ".join(page.inner_text(".breadcrumbs").split())
    assert crumbs == "Admin Settings › My Company › Authentication › API Keys"
    page.screenshot(path=ARTIFACTS / f"{device}-2-list.png", full_page=True)

    page.click("text=Add a Key")
    page.fill("#id_name", "OneLogin provisioning")
    page.fill("#id_expires_on", (timezone.now() + timedelta(days=365)).date().isoformat())
    page.screenshot(path=ARTIFACTS / f"{device}-3-add.png", full_page=True)
    page.click("input[value='Create key']")

    raw_key = page.input_value("#api-key-secret")
    assert re.fullmatch(r"sbk_[a-z0-9]{12}_[A-Za-z0-9]{43}", raw_key)
    page.click("#api-key-copy")
    page.wait_for_function("document.getElementById('api-key-copy-status').textContent.length > 0")
    assert page.inner_text("#api-key-copy-status") == "Copied to the clipboard."
    assert page.evaluate("navigator.clipboard.readText()") == raw_key
    page.screenshot(path=ARTIFACTS / f"{device}-4-created.png", full_page=True)
    api_key = authenticate(raw_key=raw_key, client_ip="198.51.100.1")

    page.click("text=back to API Keys")
    assert raw_key not in page.content()
    page.click(f"a[href$='/{api_key.pk}/revoke/']")
    page.screenshot(path=ARTIFACTS / f"{device}-5-revoke.png", full_page=True)
    page.click("input[value='Yes, revoke the key']")
    assert "is revoked" in page.inner_text(".messagelist")
    page.screenshot(path=ARTIFACTS / f"{device}-6-revoked.png", full_page=True)
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key=raw_key, client_ip="198.51.100.1")
    context.close()
