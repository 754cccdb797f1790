"""Test sign-in on the SAML SSO page: a real SP-initiated round trip that changes nobody's
sign-in and comes back with the outcome; Enforce SSO only after a successful test of the
current settings; break-glass off while enforcing only after a confirmation."""

from urllib.parse import urlencode

from accounts.models import AuditEvent
from sso.models import SAMLConfig
from tests.accounts.factories import UserFactory
from tests.sso.test_settings_page import PAGE, form_data

TEST = "/admin/my-company/authentication/saml-sso/test/"


def run_test_sign_in(client, idp, email="ada@acme.example"):
    start = client.post(TEST)
    assert start.status_code == 302
    assert start["Location"].startswith("https://idp.example.test/sso?SAMLRequest=")
    request_id = idp.request_id_of(start["Location"])
    back = client.post(
        "/sso/acme/acs/", {"SAMLResponse": idp.response(email, in_response_to=request_id)}
    )
    assert back.status_code == 302
    assert back["Location"] == f"{PAGE}?{urlencode({'company': 'acme'})}"
    return client.get(back["Location"]).content.decode()


def test_a_successful_test_shows_what_arrived_and_signs_nobody_in(
    company_admin_client, company_admin, acme_saml, acme_idp, company
):
    acme_saml.enabled = False  # a test needs no SSO turned on yet
    acme_saml.save()
    UserFactory(company=company, email="ada@acme.example")
    page = run_test_sign_in(company_admin_client, acme_idp)
    assert "Test sign-in succeeded" in page
    assert "ada@acme.example" in page
    assert "givenName" in page  # the attributes received
    assert company_admin_client.session["_auth_user_id"] == str(company_admin.pk)
    assert not AuditEvent.objects.filter(action__startswith="auth.sign_in.").exists()
    event = AuditEvent.objects.get(action="sso.test_sign_in")
    assert event.actor_user == company_admin
    assert event.after == {"ok": True, "reason": "", "name_id": "ada@acme.example"}
    acme_saml.refresh_from_db()
    assert acme_saml.tested_at is not None
    # Shown once; the page then says when the current settings last worked.
    assert "Last successful test" in company_admin_client.get(PAGE).content.decode()


def test_a_failed_test_shows_the_exact_refusal_reason(
    company_admin_client, company_admin, acme_saml, idps
):
    page = run_test_sign_in(company_admin_client, idps["evil"])
    assert "Test sign-in failed (bad_signature)" in page
    assert "could not be verified" in page
    assert "Check the certificate" in page
    assert "contact your company" not in page.split('id="test-sign-in"')[1]
    assert company_admin_client.session["_auth_user_id"] == str(company_admin.pk)
    event = AuditEvent.objects.get(action="sso.test_sign_in")
    assert event.after["ok"] is False
    assert event.after["reason"] == "bad_signature"
    acme_saml.refresh_from_db()
    assert acme_saml.tested_fingerprint == ""


def test_enforce_sso_needs_a_successful_test_of_the_current_settings(
    company_admin_client, acme_saml, acme_idp, keys, company
):
    refused = company_admin_client.post(PAGE, form_data(keys, enforce_sso="on"))
    assert refused.status_code == 200
    assert "Run Test sign-in" in refused.content.decode()
    acme_saml.refresh_from_db()
    assert acme_saml.enforce_sso is False

    UserFactory(company=company, email="ada@acme.example")
    run_test_sign_in(company_admin_client, acme_idp)
    saved = company_admin_client.post(PAGE, form_data(keys, enforce_sso="on"))
    assert saved.status_code == 302
    acme_saml.refresh_from_db()
    assert acme_saml.enforce_sso is True

    # Another certificate while enforcing: not without a new test.
    changed = company_admin_client.post(
        PAGE, form_data(keys, enforce_sso="on", idp_certificate=keys["acme_next"].cert_base64)
    )
    assert "Run Test sign-in" in changed.content.decode()
    acme_saml.refresh_from_db()
    assert acme_saml.idp_certificate.strip() == keys["acme"].cert_pem.strip()


def test_turning_break_glass_off_while_enforcing_asks_for_confirmation(
    company_admin_client, acme_saml, acme_idp, keys, company
):
    UserFactory(company=company, email="ada@acme.example")
    run_test_sign_in(company_admin_client, acme_idp)
    assert company_admin_client.post(PAGE, form_data(keys, enforce_sso="on")).status_code == 302
    off = form_data(keys, enforce_sso="on", allow_admin_password_login=None)
    asked = company_admin_client.post(PAGE, off)
    body = asked.content.decode()
    assert asked.status_code == 200
    assert "nobody can sign in with a password, you included" in body
    assert 'name="confirm_break_glass_off"' in body
    acme_saml.refresh_from_db()
    assert acme_saml.allow_admin_password_login is True

    confirmed = company_admin_client.post(PAGE, {**off, "confirm_break_glass_off": "1"})
    assert confirmed.status_code == 302
    acme_saml.refresh_from_db()
    assert acme_saml.allow_admin_password_login is False


def test_a_test_outcome_is_only_taken_by_its_company(client, acme_saml, acme_idp, company):
    """An answer to a test this browser never started is an ordinary sign-in attempt."""
    UserFactory(company=company, email="ada@acme.example")
    response = client.post(
        "/sso/acme/acs/",
        {"SAMLResponse": acme_idp.response("ada@acme.example", in_response_to="id-not-a-test")},
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="sso.test_sign_in").exists()


def test_test_sign_in_is_for_company_admins_with_settings(member, company_admin_client):
    from django.test import Client

    member_client = Client()
    member_client.force_login(member)
    refused = member_client.post(TEST)
    assert "SAMLRequest" not in refused.get("Location", "")
    assert not SAMLConfig.objects.exists()
    assert company_admin_client.post(TEST).status_code == 404  # nothing saved to test yet
