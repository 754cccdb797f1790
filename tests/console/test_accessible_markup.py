"""The markup assistive technology relies on, checked without a browser (the browser walk,
test_accessibility_walk.py, checks the same pages as rendered, with axe-core): help text and
errors tied to their fields by ids that exist, refusals announced, names that say which thing."""

import re

import pytest
from django.urls import reverse

from apikeys.models import APIKey
from tests.apikeys.factories import make_api_key
from tests.approvals.factories import make_pending_change
from tests.sso.test_login import password_step

ATTRIBUTE = r'{}="([^"]*)"'


def ids(html: str) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', html))


def dangling_references(html: str) -> list[str]:
    """Every aria-describedby/-labelledby token naming an id the page does not have."""
    present = ids(html)
    return [
        token
        for attribute in ("aria-describedby", "aria-labelledby")
        for value in re.findall(ATTRIBUTE.format(attribute), html)
        for token in value.split()
        if token not in present
    ]


def tag(html: str, name: str) -> str:
    """The opening tag of the input named `name`."""
    match = re.search(rf'<(?:input|textarea|select)[^>]*\sname="{name}"[^>]*>', html)
    assert match, name
    return match.group(0)


def test_login_email_error_is_tied_to_the_field(client, db):
    response = client.post("/login/", {"step": "email", "email": "not an email"})
    html = response.content.decode()
    email = tag(html, "email")
    assert 'aria-invalid="true"' in email
    assert 'aria-describedby="id_email_error"' in email
    assert 'id="id_email_error"' in html
    assert not dangling_references(html)


def test_a_refused_sign_in_is_announced_on_the_password(client, company, member):
    html = password_step(client, "member@acme.example", password="wrong").content.decode()
    assert re.search(r'<div class="errors" id="sign-in-error" role="alert">Wrong email', html)
    password = tag(html, "password")
    assert 'aria-invalid="true"' in password
    assert 'aria-describedby="sign-in-error"' in password
    assert not dangling_references(html)


def test_login_and_app_follow_the_admin_theme_toggle(client, db):
    html = client.get("/login/").content.decode()
    assert "admin/js/theme.js" in html


def test_saml_form_errors_and_help_have_their_ids(company_admin_client):
    html = company_admin_client.post(reverse("sso_settings"), {}).content.decode()
    assert 'aria-invalid="true"' in html
    assert "_error" in " ".join(re.findall(ATTRIBUTE.format("aria-describedby"), html))
    assert not dangling_references(html)


def test_scim_provisioning_help_and_errors_have_their_ids(company_admin_client):
    html = company_admin_client.post(
        reverse("scim_provisioning"), {"pending_change_ttl_days": "0"}
    ).content.decode()
    assert 'aria-invalid="true"' in tag(html, "pending_change_ttl_days")
    assert 'id="id_pending_change_ttl_days_helptext"' in html
    assert not dangling_references(html)


def test_csv_import_error_is_tied_to_the_file_field(company_admin_client):
    html = company_admin_client.post(reverse("admin:offices_phonenumber_import")).content.decode()
    assert 'aria-invalid="true"' in tag(html, "csv_file")
    assert 'id="id_csv_file_error"' in html
    assert not dangling_references(html)


def test_api_key_scopes_are_a_named_group(company_admin_client):
    html = company_admin_client.get(reverse("admin:apikeys_apikey_add")).content.decode()
    assert re.search(r'<fieldset id="id_scopes"[^>]*><legend[^>]*>Scopes</legend>', html)
    assert not dangling_references(html)


def test_each_revoke_link_names_its_key_and_the_column_has_a_header(company_admin_client, company):
    make_api_key(company, name="OneLogin")
    html = company_admin_client.get(reverse("admin:apikeys_apikey_changelist")).content.decode()
    assert 'aria-label="Revoke OneLogin key"' in html
    assert re.search(r'<th scope="col" class="column-revoke_link">.*?Revoke', html, re.S)


def test_the_new_key_page_puts_focus_on_the_key(company_admin_client):
    response = company_admin_client.post(
        reverse("admin:apikeys_apikey_add"), {"name": "Okta", "scopes": ["scim"]}, follow=True
    )
    html = response.content.decode()
    assert APIKey.objects.filter(name="Okta").exists()
    assert re.search(r'<input id="api-key-secret"[^>]*\sautofocus', html)


@pytest.mark.parametrize("view", ["changelist", "change"])
def test_pending_approval_links_are_named_by_their_user(company_admin_client, company, view):
    change = make_pending_change(company)
    args = [change.pk] if view == "change" else []
    path = reverse(f"admin:approvals_pendingchange_{view}", args=args)
    html = company_admin_client.get(path).content.decode()
    link_texts = [
        re.sub(r"<[^>]+>", "", text).strip()
        for text in re.findall(r"<a [^>]*>(.*?)</a>", html, re.S)
    ]
    assert not [text for text in link_texts if re.fullmatch(r"#?\d+", text)]
    assert not dangling_references(html)


def test_the_list_search_box_has_a_name(company_admin_client):
    html = company_admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert 'aria-label="Search users"' in tag(html, "q")


def test_the_walks_text_checks_catch_what_they_name():
    """The walk's page-word checks (TEXT_CHECKS) flag Django's defaults and codes, and pass
    plain words."""
    from tests.console.test_accessibility_walk import TEXT_CHECKS

    samples = [
        "Select office to change",
        "London still has 1 user(s)",
        "Target type: offices.phonenumber",
        "middle_name: —",
        "Change user",
        "London | Change office | Admin Settings",
        "Add phone number | Admin Settings",
        "View audit event",
    ]
    assert [any(check(sample) for check in TEXT_CHECKS) for sample in samples] == [True] * len(
        samples
    )
    plain = (
        "Add a user | Admin Settings\nAdd an office\nChange office for 2 users\n"
        "Offices · 1 user · 3 rows · sbk_abcdefgh… · ada@acme.example · Sign-in settings"
    )
    assert not [check.__name__ for check in TEXT_CHECKS if check(plain)]
