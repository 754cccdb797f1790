"""SAML settings: what admins paste (certificates, metadata), what the service refuses, audit."""

import pytest

from accounts.audit import SYSTEM, Source
from accounts.errors import DomainError
from accounts.models import AuditEvent, Plan
from sso import services
from sso.certificates import certificate_info, normalize_certificate, parse_idp_metadata
from sso.models import SAMLConfig
from tests.sso.conftest import ACME_IDP

SSO_URL = "https://idp.example.test/sso"


def configure(company, **fields):
    return services.configure_saml(company=company, actor=SYSTEM, source=Source.CLI, **fields)


def base_fields(keys):
    return {
        "idp_entity_id": ACME_IDP,
        "idp_sso_url": SSO_URL,
        "idp_certificate": keys["acme"].cert_pem,
    }


def metadata_xml(keys, *names, entity_id=ACME_IDP, slo=True):
    key_descriptors = "".join(
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{keys[name].cert_base64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        f"</md:KeyDescriptor>"
        for name in names
    )
    slo_xml = (
        '<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        'Location="https://idp.example.test/slo"/>'
        if slo
        else ""
    )
    return (
        '<?xml version="1.0"?><md:EntityDescriptor '
        'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{key_descriptors}{slo_xml}"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        f'Location="{SSO_URL}"/></md:IDPSSODescriptor></md:EntityDescriptor>'
    )


def test_certificate_as_pem_and_as_bare_base64_are_the_same(keys):
    pem = keys["acme"].cert_pem
    assert normalize_certificate(pem) == pem
    assert normalize_certificate(keys["acme"].cert_base64) == pem
    # OneLogin's "View details" text, wrapped at 64 columns with Windows line ends.
    wrapped = "\r\n".join(pem.splitlines()[1:-1])
    assert normalize_certificate(wrapped) == pem


def test_private_key_pasted_by_mistake_is_refused_and_named(keys):
    with pytest.raises(DomainError, match="private key, not a certificate"):
        normalize_certificate(keys["acme"].key_pem)


def _key_der(keys, private_format, password=None):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(keys["acme"].key_pem.encode(), password=None)
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.DER, private_format, encryption)


@pytest.mark.parametrize(
    ("private_format", "password"),
    [("TraditionalOpenSSL", None), ("PKCS8", None), ("PKCS8", b"secret")],
    ids=["pkcs1", "pkcs8", "pkcs8-encrypted"],
)
def test_private_key_pasted_as_bare_base64_is_refused_and_named(keys, private_format, password):
    """OneLogin shows certificates as bare base64; a key copied the same way (no PEM armour)
    was refused only as "not an X.509 certificate", so nobody was told to replace it."""
    import base64

    from cryptography.hazmat.primitives.serialization import PrivateFormat

    der = _key_der(keys, getattr(PrivateFormat, private_format), password)
    with pytest.raises(DomainError, match="private key, not a certificate") as error:
        normalize_certificate(base64.b64encode(der).decode())
    assert error.value.code == "private_key"


@pytest.mark.parametrize(
    "text",
    ["hello", "TUlJQ2Zvbw==", "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----"],
)
def test_non_certificates_are_refused(text):
    with pytest.raises(DomainError, match="not"):
        normalize_certificate(text)


def test_metadata_pasted_into_the_certificate_field_is_explained(keys):
    with pytest.raises(DomainError, match="looks like XML"):
        normalize_certificate(metadata_xml(keys, "acme"))


def test_certificate_info_shows_subject_fingerprint_and_expiry(keys):
    info = certificate_info(keys["acme"].cert_pem)
    assert "CN=acme.idp.example.test" in info.subject
    assert len(info.fingerprint_sha256.split(":")) == 32
    assert not info.expired
    assert not info.expires_soon


def test_configure_saml_stores_and_audits(company, keys):
    config = configure(company, **base_fields(keys), enabled=True)
    assert config.idp_certificate == keys["acme"].cert_pem
    event = AuditEvent.objects.get(action="sso.configured")
    assert event.company == company
    assert event.after["enabled"] is True
    # Certificates are audited by fingerprint, never their text.
    assert (
        event.after["idp_certificate"] == certificate_info(keys["acme"].cert_pem).fingerprint_sha256
    )

    configure(company, enforce_sso=True)
    change = AuditEvent.objects.get(action="sso.settings_changed")
    assert change.before == {"enforce_sso": False}
    assert change.after == {"enforce_sso": True}
    # Enforcing ended the password sessions it now refuses (none were open).
    ended = AuditEvent.objects.get(action="sso.password_sessions_ended")
    assert ended.after["sessions_ended"] == 0
    # Saving the same values again writes nothing.
    configure(company, enforce_sso=True)
    assert AuditEvent.objects.filter(action__startswith="sso.").count() == 3


def test_configure_from_metadata_with_two_certificates(company, keys):
    config = configure(company, metadata_xml=metadata_xml(keys, "acme", "acme_next"))
    assert config.idp_entity_id == ACME_IDP
    assert config.idp_sso_url == SSO_URL
    assert config.idp_slo_url == "https://idp.example.test/slo"
    assert config.certificates == [keys["acme"].cert_pem, keys["acme_next"].cert_pem]


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<md:EntityDescriptor", "not well-formed XML"),
        ("not xml at all", "not well-formed XML"),
        ('<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "DTD"),
        ("<root/>", "not SAML 2.0 metadata"),
    ],
)
def test_bad_metadata_is_refused_and_nothing_saved(company, xml, message):
    with pytest.raises(DomainError, match=message):
        configure(company, metadata_xml=xml)
    assert not SAMLConfig.objects.exists()


def test_metadata_without_signing_certificate_is_refused(company, keys):
    with pytest.raises(DomainError, match="no signing certificate"):
        configure(company, metadata_xml=metadata_xml(keys))
    assert not SAMLConfig.objects.exists()


def test_parse_metadata_reads_entities_descriptor(keys):
    inner = metadata_xml(keys, "acme").split("?>", 1)[1]
    md = "urn:oasis:names:tc:SAML:2.0:metadata"
    wrapped = f'<md:EntitiesDescriptor xmlns:md="{md}">{inner}</md:EntitiesDescriptor>'
    assert parse_idp_metadata(wrapped).entity_id == ACME_IDP


@pytest.mark.parametrize("entity_id", ["OneLogin", "not a uri", "ftp:/x", ""])
def test_entity_id_must_be_a_uri(company, keys, entity_id):
    with pytest.raises(DomainError, match=r"URI|entity ID") as error:
        configure(company, **{**base_fields(keys), "idp_entity_id": entity_id})
    assert error.value.field == "idp_entity_id"
    assert not SAMLConfig.objects.exists()


def test_urn_entity_id_is_accepted(company, keys):
    config = configure(company, **{**base_fields(keys), "idp_entity_id": "urn:example:idp"})
    assert config.idp_entity_id == "urn:example:idp"


def test_sso_url_must_be_https(company, keys):
    with pytest.raises(DomainError, match="https://") as error:
        configure(company, **{**base_fields(keys), "idp_sso_url": "http://idp.example.test/sso"})
    assert error.value.field == "idp_sso_url"


@pytest.mark.parametrize("field", ["idp_sso_url", "idp_slo_url"])
@pytest.mark.parametrize(
    "url",
    [
        "https://[::1/sso",  # urlsplit raises ValueError: was a 500 on the settings page
        "https://idp.example.test:99999/sso",
        "https://idp.example.test/sso\nX-Injected: 1",
        "https://idp.example.test/s so",
        "https://idp.example.test/sso\x00",
    ],
)
def test_malformed_idp_urls_are_refused(company, keys, field, url):
    with pytest.raises(DomainError, match="https:// address") as error:
        configure(company, **{**base_fields(keys), field: url})
    assert error.value.field == field
    assert not SAMLConfig.objects.exists()


@pytest.mark.parametrize("entity_id", ["https://[::1/metadata", "https://idp.example.test:99999/"])
def test_malformed_entity_id_is_refused(company, keys, entity_id):
    with pytest.raises(DomainError, match="not a web address or URN") as error:
        configure(company, **{**base_fields(keys), "idp_entity_id": entity_id})
    assert error.value.field == "idp_entity_id"
    assert not SAMLConfig.objects.exists()


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_our_own_sp_entity_id_is_not_an_idp_entity_id(company, keys, slug):
    """Pasting Switchboard's metadata URL (this company's or any other's) where the identity
    provider's goes is a mix-up: it names no IdP, and no real IdP issues as us."""
    from sso.saml import sp_entity_id

    with pytest.raises(DomainError, match="Switchboard's own") as error:
        configure(company, **{**base_fields(keys), "idp_entity_id": sp_entity_id(slug)})
    assert error.value.field == "idp_entity_id"
    assert not SAMLConfig.objects.exists()


def test_another_companys_idp_entity_id_is_accepted(company, other_company, keys):
    """Entra ID issues every app of a tenant as https://sts.windows.net/<tenant>/: two companies
    of one organisation share it. Audience and Recipient (our per-company URLs) tell them apart."""
    shared = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/"
    configure(other_company, **{**base_fields(keys), "idp_entity_id": shared})
    assert configure(company, **{**base_fields(keys), "idp_entity_id": shared}).idp_entity_id


def test_saml_is_an_enterprise_feature(company, keys):
    company.plan = Plan.PRO
    company.save()
    with pytest.raises(DomainError, match="Enterprise feature") as error:
        configure(company, **base_fields(keys))
    assert error.value.code == "plan"
    assert not SAMLConfig.objects.exists()


def test_enforcing_sso_needs_sso_enabled(company, keys):
    with pytest.raises(DomainError, match="Turn on SSO"):
        configure(company, **base_fields(keys), enforce_sso=True)


def test_removing_the_only_certificate_is_refused(company, keys):
    configure(company, **base_fields(keys))
    with pytest.raises(DomainError, match="certificate"):
        configure(company, idp_certificate="")
