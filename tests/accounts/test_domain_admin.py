"""Admin Settings › My Company › Email domains: claim, the TXT record to publish, Verify now; the
operator's override and conflicts page; the user form's refusal of another's verified domain."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AuditEvent, CompanyDomain, DomainStatus, User
from tests.accounts.factories import CompanyDomainFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:accounts_companydomain_add")
LIST = reverse("admin:accounts_companydomain_changelist")


def change_url(claim):
    return reverse("admin:accounts_companydomain_change", args=[claim.pk])


def verify_url(claim):
    return reverse("admin:accounts_companydomain_verify", args=[claim.pk])


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def sign_in_as_operator(client):
    operator = User.objects.create_superuser(
        email="ops@switchboard.example", password="correct-horse-battery-staple"
    )
    client.logout()
    client.force_login(operator)
    return operator


def test_adding_a_domain_shows_the_txt_record_to_publish(company_admin_client, company):
    response = company_admin_client.post(ADD, {"domain": "Acme.Example"})
    claim = CompanyDomain.objects.get(company=company)
    assert response.status_code == 302
    assert response["Location"] == change_url(claim)
    page = company_admin_client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert "Verify acme.example" in body
    assert '<code id="domain-record-host">_switchboard.acme.example</code>' in body
    assert f'<code id="domain-record-value">switchboard-verification={claim.token}</code>' in body
    assert body.count('class="button copy-button"') == 2
    assert 'id="domain-verify-now"' in body
    assert "Not verified" in body
    assert "switchboard/copy.js" in body


@pytest.mark.parametrize(
    ("domain", "words"),
    [("gmail.com", "free email service"), ("co.uk", "public suffix")],
)
def test_unclaimable_domain_is_a_form_error(company_admin_client, domain, words):
    response = company_admin_client.post(ADD, {"domain": domain})
    assert response.status_code == 200
    assert words in str(response.context["adminform"].form.errors["domain"])
    assert not CompanyDomain.objects.exists()


def test_verify_now_finds_the_record(company_admin_client, company, dns_zone):
    claim = CompanyDomainFactory(company=company, domain="acme.example")
    response = company_admin_client.post(verify_url(claim))
    assert response.status_code == 302
    assert "does not exist in DNS yet (NXDOMAIN)" in messages_of(response)[0]
    claim.refresh_from_db()
    assert claim.status == DomainStatus.PENDING

    dns_zone.publish("_switchboard.acme.example", f"switchboard-verification={claim.token}")
    response = company_admin_client.post(verify_url(claim), follow=True)
    claim.refresh_from_db()
    assert claim.status == DomainStatus.VERIFIED
    body = response.content.decode()
    assert "Verified: the TXT record of acme.example was found" in body
    assert "acme.example is verified</h2>" in body
    event = AuditEvent.objects.get(action="company.domain_verified")
    assert event.actor_user.email == "admin@acme.example"
    assert event.source == "admin"


def test_verify_now_is_a_post_and_scoped_to_the_company(
    company_admin_client, company, other_company, dns_zone
):
    theirs = CompanyDomainFactory(company=other_company, domain="globex.example")
    assert company_admin_client.post(verify_url(theirs)).status_code == 404
    mine = CompanyDomainFactory(company=company)
    assert company_admin_client.get(verify_url(mine)).status_code == 302
    mine.refresh_from_db()
    assert mine.last_checked_at is None  # a GET looks nothing up
    theirs.refresh_from_db()
    assert theirs.last_checked_at is None


def test_operator_override_is_the_operators_only(company_admin_client, company):
    claim = CompanyDomainFactory(company=company, domain="acme.example")
    action = {"action": "verify_as_operator", "_selected_action": [claim.pk]}
    listing = company_admin_client.get(LIST)
    assert "verify_as_operator" not in listing.content.decode()
    company_admin_client.post(LIST, action)
    claim.refresh_from_db()
    assert claim.status == DomainStatus.PENDING

    operator = sign_in_as_operator(company_admin_client)
    response = company_admin_client.post(LIST, action, follow=True)
    assert "Verified 1 email domain." in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == DomainStatus.VERIFIED
    assert claim.verification_method == "operator"
    event = AuditEvent.objects.get(action="company.domain_verified")
    assert event.actor_user == operator
    assert event.company == company


def test_conflicts_page_is_the_operators(company_admin_client, company, other_company):
    CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    UserFactory(company=other_company, email="pat@acme.example")
    url = reverse("admin:accounts_companydomain_conflicts")
    assert company_admin_client.get(url).status_code == 403
    assert "Conflicts</a>" not in company_admin_client.get(LIST).content.decode()
    sign_in_as_operator(company_admin_client)
    body = company_admin_client.get(url).content.decode()
    assert "pat@acme.example" in body
    assert "Globex" in body
    listing = company_admin_client.get(LIST).content.decode()
    assert 'href="/admin/accounts/companydomain/conflicts/">Conflicts</a>' in listing


def test_user_form_refuses_an_email_in_another_company_verified_domain(
    company_admin_client, other_company
):
    CompanyDomainFactory(company=other_company, domain="globex.example", verified=True)
    response = company_admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "new@globex.example", "given_name": "New", "role": "member", "password": ""},
    )
    assert response.status_code == 200
    error = str(response.context["adminform"].form.errors["email"])
    assert "verified by another organization" in error
    assert "Globex" not in response.content.decode()
    assert not User.objects.filter(email="new@globex.example").exists()


def test_an_ended_claim_says_so_and_offers_no_verification(
    company_admin_client, company, other_company
):
    CompanyDomainFactory(company=other_company, domain="acme.example", verified=True)
    ended = CompanyDomainFactory(company=company, domain="acme.example", status="ended")
    body = company_admin_client.get(change_url(ended)).content.decode()
    assert "acme.example was verified by another organization" in body
    assert "domain-verify-now" not in body
    assert "Globex" not in body
    response = company_admin_client.post(verify_url(ended), follow=True)
    assert "this claim cannot be verified. Remove it." in response.content.decode()
    ended.refresh_from_db()
    assert ended.last_checked_at is None


def test_deleting_a_verified_domain_says_what_follows(company_admin_client, company):
    verified = CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    pending = CompanyDomainFactory(company=company, domain="acme-labs.example")

    page = company_admin_client.get(
        reverse("admin:accounts_companydomain_delete", args=[verified.pk])
    ).content.decode()
    assert "stops sending people with @acme.example addresses" in page
    assert "another organization may then claim" in page

    page = company_admin_client.get(
        reverse("admin:accounts_companydomain_delete", args=[pending.pk])
    ).content.decode()
    assert "stops sending" not in page
    assert "Delete the" in page
