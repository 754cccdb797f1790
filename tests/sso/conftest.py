import pytest
from saml2.sigver import CryptoBackendXmlSec1

from accounts.audit import SYSTEM, Source
from accounts.models import AuditEvent
from sso import services
from tests.accounts.factories import CompanyDomainFactory
from tests.sso.saml_idp import TestIdP, make_key_pair

ACME_IDP = "https://idp.example.test/saml/metadata/acme"
GLOBEX_IDP = "https://idp.example.test/saml/metadata/globex"


@pytest.fixture(autouse=True)
def signatures_verified_in_process(monkeypatch):
    """Every SSO test verifies signatures in process: the xmlsec1 program may still sign the
    test IdP's responses, but running it to verify one fails the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a signature was verified with the xmlsec1 program")

    monkeypatch.setattr(CryptoBackendXmlSec1, "validate_signature", forbidden)


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """Signing keys, generated once per test run: acme's IdP (current and next for rollover),
    globex's IdP, and an attacker's."""
    directory = tmp_path_factory.mktemp("saml-keys")
    return {
        name: make_key_pair(directory, name) for name in ("acme", "acme_next", "globex", "evil")
    }


@pytest.fixture(scope="session")
def idps(keys):
    """pysaml2 IdP servers, built once per run (each loads its config and SP metadata)."""
    slugs = ("acme", "globex")
    return {
        "acme": TestIdP(ACME_IDP, keys["acme"], slugs),
        "acme_next": TestIdP(ACME_IDP, keys["acme_next"], slugs),
        # The attacker claims to be acme's IdP but signs with its own key (and sends its cert).
        "evil": TestIdP(ACME_IDP, keys["evil"], slugs),
        "globex": TestIdP(GLOBEX_IDP, keys["globex"], slugs),
    }


@pytest.fixture
def acme_idp(idps):
    return idps["acme"]


@pytest.fixture
def acme_domain(company):
    return CompanyDomainFactory(company=company, domain="acme.example", verified=True)


@pytest.fixture
def acme_saml(company, acme_domain, keys):
    return services.configure_saml(
        company=company,
        actor=SYSTEM,
        source=Source.CLI,
        idp_entity_id=ACME_IDP,
        idp_sso_url="https://idp.example.test/sso",
        idp_certificate=keys["acme"].cert_pem,
        enabled=True,
        allow_idp_initiated=True,
    )


@pytest.fixture
def globex_saml(other_company, keys):
    CompanyDomainFactory(company=other_company, domain="globex.example", verified=True)
    return services.configure_saml(
        company=other_company,
        actor=SYSTEM,
        source=Source.CLI,
        idp_entity_id=GLOBEX_IDP,
        idp_sso_url="https://idp.example.test/globex/sso",
        idp_certificate=keys["globex"].cert_pem,
        enabled=True,
        allow_idp_initiated=True,
    )


def refusals(reason=None):
    events = AuditEvent.objects.filter(action="auth.sign_in_refused")
    if reason is not None:
        events = events.filter(after__reason=reason)
    return events


def assert_refused(client, response, reason, status=403):
    """A friendly page, nobody signed in, and the refusal in the audit log."""
    assert response.status_code == status, response.content[:500]
    body = response.content.decode()
    assert "Back to sign-in" in body
    assert "Traceback" not in body
    assert "_auth_user_id" not in client.session
    assert refusals(reason).count() == 1, list(refusals().values_list("after", flat=True))
    refusal = refusals(reason).get()
    later_sign_ins = AuditEvent.objects.filter(
        action__startswith="auth.sign_in.", pk__gt=refusal.pk
    )
    assert not later_sign_ins.exists()


def saml_with_test_idp(company, site, keys):
    """The company's SAML settings pointing at the test IdP's sign-in page served beside the
    live site (tests/sso/idp_urls.py), enabled."""
    return services.configure_saml(
        company=company,
        actor=SYSTEM,
        source=Source.CLI,
        idp_entity_id=ACME_IDP,
        idp_sso_url=f"{site}/test-idp/sso",
        idp_certificate=keys["acme"].cert_pem,
        enabled=True,
    )
