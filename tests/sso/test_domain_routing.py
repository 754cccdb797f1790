"""/login/ routes only verified domains; JIT creates accounts only in the company's own verified
domains; a refused sign-in is audited under the account's company, never a mere claimer's."""

import pytest
from django.core.management import call_command

from accounts import domains
from accounts.audit import SYSTEM, Source
from accounts.models import AuditEvent, User
from tests.accounts.factories import CompanyDomainFactory, UserFactory
from tests.sso.conftest import assert_refused, refusals
from tests.sso.test_acs import post
from tests.sso.test_login import email_step, password_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_sso(acme_saml, acme_domain):
    """acme's SAML sign-in, enabled, with no email domain (yet)."""
    acme_domain.delete()
    return acme_saml


def routed_to_sso(client, email):
    response = email_step(client, email)
    if response.status_code == 302:
        assert response["Location"].startswith("/sso/acme/login/")
        return True
    assert 'name="password"' in response.content.decode()
    return False


def test_claim_publish_verify_route(client, company, acme_sso, dns_zone):
    claim = domains.add_company_domain(
        company=company, domain="acme.example", actor=SYSTEM, source=Source.CLI
    )
    assert not routed_to_sso(client, "ada@acme.example")  # a claim routes nothing
    dns_zone.publish("_switchboard.acme.example", f"switchboard-verification={claim.token}")
    domains.check_claim(claim=claim, actor=SYSTEM, source=Source.TASK)
    assert routed_to_sso(client, "ada@acme.example")
    assert routed_to_sso(client, "ada@eu.acme.example")  # subdomains are covered
    assert not routed_to_sso(client, "ada@acme.example.org")


def test_operator_override_routes(client, company, acme_sso):
    CompanyDomainFactory(company=company, domain="acme.example")
    assert not routed_to_sso(client, "ada@acme.example")
    call_command("verify_domain", "--company", "acme", "--domain", "acme.example")
    assert routed_to_sso(client, "ada@acme.example")


def test_another_company_claim_of_a_domain_routes_nothing(client, other_company, globex_saml):
    """globex, with SSO on, claims initech.example: initech's people stay off globex's IdP."""
    CompanyDomainFactory(company=other_company, domain="initech.example")
    assert email_step(client, "boss@globex.example").status_code == 302  # its verified one
    response = email_step(client, "ceo@initech.example")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_jit_refuses_an_email_in_another_company_verified_domain(
    client, company, globex_saml, idps, other_company
):
    CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    globex_saml.jit_provisioning = True
    globex_saml.save()
    saml = idps["globex"].response("newhire@acme.example", sp_slug="globex")
    response = post(client, saml, url="/sso/globex/acs/")
    assert_refused(client, response, "jit_foreign_domain")
    assert company.name not in response.content.decode()
    assert not User.objects.filter(email="newhire@acme.example").exists()
    assert refusals().get().company == other_company  # the IdP's own company, not acme


def test_jit_needs_the_company_own_domain_verified(client, globex_saml, idps, other_company):
    CompanyDomainFactory(company=other_company, domain="globex-corp.example")  # only claimed
    globex_saml.jit_provisioning = True
    globex_saml.save()
    saml = idps["globex"].response("newhire@globex-corp.example", sp_slug="globex")
    assert_refused(client, post(client, saml, url="/sso/globex/acs/"), "jit_foreign_domain")
    saml = idps["globex"].response("newhire@globex.example", sp_slug="globex")
    response = post(client, saml, url="/sso/globex/acs/")
    assert response.status_code == 302
    assert User.objects.get(email="newhire@globex.example").company == other_company


def test_a_refused_password_is_audited_under_the_account_company(client, company, other_company):
    # globex verified a domain in which acme has an account (a conflict for the operator).
    CompanyDomainFactory(company=other_company, domain="globex.example", verified=True)
    UserFactory(company=company, email="contractor@globex.example")
    password_step(client, "contractor@globex.example", password="wrong")
    [refused] = refusals("bad_credentials")
    assert refused.company == company

    # No account at all: the operator's log only, not the domain's company.
    password_step(client, "nobody@globex.example", password="wrong")
    assert (
        refusals("bad_credentials").filter(after__email="nobody@globex.example").get().company
        is None
    )
    assert not AuditEvent.objects.filter(company=other_company, action="auth.sign_in_refused")
