"""/login/ (email first), enforced SSO with break-glass, the admin's sign-in, /app/, sign-out."""

from urllib.parse import parse_qs, urlsplit

import pytest
from saml2 import BINDING_HTTP_REDIRECT

from accounts.models import AuditEvent, User
from tests.accounts.factories import CompanyAdminFactory, CompanyDomainFactory, UserFactory

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def enforced(acme_saml):
    acme_saml.enforce_sso = True
    acme_saml.save()
    return acme_saml


def email_step(client, email, next_url=None):
    data = {"step": "email", "email": email}
    if next_url:
        data["next"] = next_url
    return client.post("/login/", data)


def password_step(client, email, password=PASSWORD, next_url="/app/"):
    return client.post(
        "/login/", {"step": "password", "email": email, "password": password, "next": next_url}
    )


def test_login_page_asks_for_email_first(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="email"' in body
    assert 'name="password"' not in body
    assert 'name="viewport"' in body


def test_sso_company_is_sent_to_its_idp(client, acme_saml, acme_idp):
    response = email_step(client, "Ada@ACME.example", next_url="/app/?x=1")
    assert response.status_code == 302
    assert response["Location"] == "/sso/acme/login/?next=%2Fapp%2F%3Fx%3D1"
    to_idp = client.get(response["Location"])
    assert to_idp["Location"].startswith("https://idp.example.test/sso?")
    assert parse_qs(urlsplit(to_idp["Location"]).query)["RelayState"] == ["/app/?x=1"]


def test_company_without_sso_signs_in_with_password(client, company, member):
    CompanyDomainFactory(company=company, domain="acme.example")
    response = email_step(client, "member@acme.example")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()
    response = password_step(client, "member@acme.example")
    assert response.status_code == 302
    assert response["Location"] == "/app/"
    assert client.session["_auth_user_id"] == str(member.pk)
    assert AuditEvent.objects.filter(action="auth.sign_in.password", actor_user=member).exists()


def test_wrong_password_is_refused_and_audited(client, company, member):
    response = password_step(client, "member@acme.example", password="wrong")
    assert response.status_code == 400
    assert "Wrong email or password." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(
        action="auth.sign_in_refused", after__reason="bad_credentials"
    ).exists()


def test_enforced_sso_refuses_member_passwords(client, enforced, member):
    response = password_step(client, "member@acme.example")
    assert response.status_code == 400
    assert "signs in with single sign-on" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_enforced_sso_break_glass_for_company_admins_is_audited(client, enforced, company_admin):
    form = client.get("/login/", {"email": "admin@acme.example", "method": "password"})
    assert 'name="password"' in form.content.decode()
    response = password_step(client, "admin@acme.example", next_url="/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(company_admin.pk)
    event = AuditEvent.objects.get(action="auth.sign_in.break_glass")
    assert event.actor_user == company_admin
    assert event.company == company_admin.company


def test_break_glass_link_leads_to_the_password_form(client, enforced, company_admin):
    page = client.get("/login/", {"method": "password"}).content.decode()
    assert 'name="method" value="password"' in page
    response = client.post(
        "/login/", {"step": "email", "email": "admin@acme.example", "method": "password"}
    )
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_break_glass_can_be_turned_off(client, enforced, company_admin):
    enforced.allow_admin_password_login = False
    enforced.save()
    assert password_step(client, "admin@acme.example").status_code == 400
    assert "_auth_user_id" not in client.session


def test_the_password_page_says_the_rule_that_holds(client, enforced, company_admin):
    """With break-glass on, only admins may use a password; with it off, nobody may: the page
    and the refusal say which, and never tell an admin that admins may when they may not."""
    page = client.get("/login/", {"email": "admin@acme.example", "method": "password"})
    assert "only company admins may use a password here" in page.content.decode()

    enforced.allow_admin_password_login = False
    enforced.save()
    page = client.get("/login/", {"email": "admin@acme.example", "method": "password"})
    body = page.content.decode()
    assert "passwords are turned off for everyone, company admins included" in body
    assert "only company admins may use a password" not in body
    refused = password_step(client, "admin@acme.example").content.decode()
    assert "company admins included" in refused
    assert "only company admins may use a password" not in refused


def test_admin_login_goes_through_login_so_enforced_sso_has_no_side_door(client, enforced, company):
    admin = CompanyAdminFactory(company=company, email="boss@acme.example")
    enforced.allow_admin_password_login = False
    enforced.save()
    response = client.get("/admin/login/", {"next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fadmin%2F"
    # Posting a password straight at the old admin form does not sign in either.
    client.post("/admin/login/", {"username": admin.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    # Nor does Django's authenticate() anywhere else (the backend enforces the policy).
    from django.contrib.auth import authenticate

    assert authenticate(username=admin.email, password=PASSWORD) is None


def test_admin_pages_redirect_anonymous_users_to_login(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"].startswith("/login/?next=")


def test_off_site_next_is_ignored_on_password_login(client, company, member):
    response = password_step(client, "member@acme.example", next_url="https://evil.example/")
    assert response["Location"] == "/app/"


def test_app_page_shows_who_you_are(client, member):
    assert client.get("/app/")["Location"] == "/login/?next=%2Fapp%2F"
    client.force_login(member)
    body = client.get("/app/").content.decode()
    assert member.email in body
    assert "Acme" in body
    for label in ("Office", "Phone number", "License"):
        assert label in body


def role_shown(client, user) -> str:
    client.force_login(user)
    body = client.get("/app/").content.decode()
    return body.split("<dt>Role</dt><dd>", 1)[1].split("</dd>", 1)[0]


def test_app_page_names_each_role_in_words(client, company):
    operator = User.objects.create_superuser(email="ops@switchboard.example", password=PASSWORD)
    assert role_shown(client, operator) == "Platform operator"
    assert 'href="/admin/"' in client.get("/app/").content.decode()
    admin = CompanyAdminFactory(company=company, email="grace@acme.example", is_approver=False)
    assert role_shown(client, admin) == "Company admin"
    approver = UserFactory(company=company, email="appr@acme.example", is_approver=True)
    assert role_shown(client, approver) == "Approver"
    queue = "/admin/approvals/pendingchange/?status__exact=pending"
    page = client.get("/app/").content.decode()
    assert f'href="{queue}"' in page  # the approval pages are what an approver may open
    assert 'href="/admin/"' not in page
    assert client.get(queue).status_code == 200
    both = CompanyAdminFactory(company=company, email="both@acme.example", is_approver=True)
    assert role_shown(client, both) == "Company admin, approver"
    member = UserFactory(company=company, email="plain@acme.example")
    assert role_shown(client, member) == "Member"
    page = client.get("/app/").content.decode()
    assert 'href="/admin/"' not in page
    assert "Pending approvals" not in page


def test_sign_out_without_slo_returns_to_login(client, member):
    client.force_login(member)
    assert client.get("/logout/").status_code == 200  # a confirmation, never a GET side effect
    assert "_auth_user_id" in client.session
    response = client.post("/logout/")
    assert response["Location"] == "/login/?signed_out=1"
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.sign_out", actor_user=member).exists()


def test_sign_out_after_sso_continues_at_the_idp_slo(client, acme_saml, acme_idp, company):
    acme_saml.idp_slo_url = "https://idp.example.test/slo"
    acme_saml.save()
    UserFactory(company=company, email="ada@acme.example")
    client.post("/sso/acme/acs/", {"SAMLResponse": acme_idp.response("ada@acme.example")})
    assert "_auth_user_id" in client.session
    response = client.post("/logout/")
    assert "_auth_user_id" not in client.session
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://idp.example.test/slo"
    logout_request = acme_idp.server.parse_logout_request(
        parse_qs(location.query)["SAMLRequest"][0], BINDING_HTTP_REDIRECT
    )
    assert logout_request.message.name_id.text == "ada@acme.example"


def test_idp_logout_response_lands_on_login(client, acme_saml, member):
    response = client.get("/sso/acme/sls/", {"SAMLResponse": "anything"})
    assert response["Location"] == "/login/?signed_out=1"


def _sso_session(client, acme_saml, acme_idp, company):
    acme_saml.idp_slo_url = "https://idp.example.test/slo"
    acme_saml.save()
    UserFactory(company=company, email="ada@acme.example")
    client.post("/sso/acme/acs/", {"SAMLResponse": acme_idp.response("ada@acme.example")})
    assert "_auth_user_id" in client.session


def _idp_logout_request(acme_idp, email):
    from tests.sso.test_single_logout import redirect_logout_query

    return parse_qs(redirect_logout_query(acme_idp, email, sign=False))["SAMLRequest"][0]


def test_idp_initiated_logout_ends_the_session_and_answers_the_idp(
    client, acme_saml, acme_idp, company
):
    from tests.sso.test_single_logout import redirect_logout_query

    _sso_session(client, acme_saml, acme_idp, company)
    # Signed, as the SAML profiles require of a LogoutRequest (unsigned: test_single_logout.py).
    query = redirect_logout_query(acme_idp, "ada@acme.example", sign=True)
    response = client.get(f"/sso/acme/sls/?{query}")
    assert "_auth_user_id" not in client.session
    assert response["Location"].startswith("https://idp.example.test/slo?SAMLResponse=")


def test_idp_logout_for_someone_else_leaves_the_session(client, acme_saml, acme_idp, company):
    _sso_session(client, acme_saml, acme_idp, company)
    saml_request = _idp_logout_request(acme_idp, "someone.else@acme.example")
    client.get("/sso/acme/sls/", {"SAMLRequest": saml_request})
    assert "_auth_user_id" in client.session


def test_garbage_logout_request_is_a_clear_error(client, acme_saml, acme_idp, company):
    _sso_session(client, acme_saml, acme_idp, company)
    response = client.get("/sso/acme/sls/", {"SAMLRequest": "%%%garbage"})
    assert response.status_code == 400
    assert "_auth_user_id" in client.session


def test_sp_login_for_company_without_sso_is_a_friendly_page(client, company):
    response = client.get("/sso/acme/login/")
    assert response.status_code == 403
    assert "contact your company" in response.content.decode()
