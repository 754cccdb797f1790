"""Turning on Enforce SSO ends the password sessions of everyone it now refuses a password, at
once and in every web process; SSO sessions and break-glass admins' sessions stay."""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.audit import SYSTEM, Source
from accounts.models import AuditEvent
from sso import services
from tests.accounts.factories import CompanyAdminFactory, UserFactory

PASSWORD = "correct-horse-battery-staple"


def password_client(email):
    client = Client()
    response = client.post(
        "/login/", {"step": "password", "email": email, "password": PASSWORD, "next": "/app/"}
    )
    assert response.status_code == 302, response.content[:300]
    return client


def sso_client(idp, email):
    client = Client()
    response = client.post("/sso/acme/acs/", {"SAMLResponse": idp.response(email)})
    assert response.status_code == 302, response.content[:300]
    return client


def signed_in(client):
    return client.get("/app/").status_code == 200


def enforce(**fields):
    from sso.models import SAMLConfig

    config = SAMLConfig.objects.get(company__slug="acme")
    return services.configure_saml(
        company=config.company, actor=SYSTEM, source=Source.CLI, enforce_sso=True, **fields
    )


def test_enforcing_ends_members_password_sessions_and_keeps_the_rest(
    acme_saml, acme_idp, company, other_company
):
    member = UserFactory(company=company, email="member@acme.example")
    UserFactory(company=company, email="ada@acme.example")
    CompanyAdminFactory(company=company, email="admin@acme.example")
    UserFactory(company=other_company, email="bob@globex.example")
    member_password = password_client(member.email)
    member_sso = sso_client(acme_idp, "ada@acme.example")
    admin_password = password_client("admin@acme.example")
    other_company_password = password_client("bob@globex.example")
    assert all(
        signed_in(c) for c in (member_password, member_sso, admin_password, other_company_password)
    )

    enforce()

    assert not signed_in(member_password)
    assert signed_in(member_sso)  # began with the company's SSO
    assert signed_in(admin_password)  # break-glass is allowed
    assert signed_in(other_company_password)
    event = AuditEvent.objects.get(action="sso.password_sessions_ended")
    assert event.company == company
    assert event.after == {"sessions_ended": 1, "break_glass_admins_kept": True}


def test_turning_break_glass_off_while_enforcing_ends_admins_password_sessions(acme_saml, company):
    CompanyAdminFactory(company=company, email="admin@acme.example")
    enforce()
    admin = password_client("admin@acme.example")  # break-glass sign-in
    assert signed_in(admin)

    enforce(allow_admin_password_login=False)

    assert not signed_in(admin)
    ended = AuditEvent.objects.filter(action="sso.password_sessions_ended").order_by("pk")
    assert [event.after["sessions_ended"] for event in ended] == [0, 1]


def test_saving_settings_again_while_enforcing_reads_no_sessions(acme_saml, company):
    enforce()
    services.configure_saml(
        company=company, actor=SYSTEM, source=Source.CLI, idp_slo_url="https://idp.example.test/slo"
    )
    assert AuditEvent.objects.filter(action="sso.password_sessions_ended").count() == 1


def _password_session(user):
    """What a password sign-in leaves in the database."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def test_the_session_ends_in_every_web_process_at_once(web_processes, acme_saml, company):
    member = UserFactory(company=company, email="member@acme.example")
    first, second = web_processes(2)
    key = _password_session(member)
    cookie = {"Cookie": f"sessionid={key}"}
    assert first.request("GET", "/app/", headers=cookie).status == 200
    assert second.request("GET", "/app/", headers=cookie).status == 200

    enforce()

    for web in (first, second):
        answer = web.request("GET", "/app/", headers=cookie)
        assert answer.status == 302
        assert answer.headers["Location"].startswith("/login/")
    assert not Session.objects.filter(session_key=key).exists()
