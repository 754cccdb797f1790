"""Reading what admins paste: X.509 certificates (PEM or bare base64) and IdP metadata XML.

Everything here raises `DomainError` with words an admin can act on; nothing touches the database.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from accounts.errors import DomainError

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EXPIRY_WARNING_DAYS = 30
MAX_METADATA_BYTES = 512 * 1024
METADATA_FIELD = "metadata_xml"  # the form field metadata errors belong to

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    fingerprint_sha256: str
    not_before: dt.datetime
    not_after: dt.datetime

    @property
    def days_left(self) -> int:
        return (self.not_after - dt.datetime.now(dt.UTC)).days

    @property
    def expired(self) -> bool:
        return self.not_after <= dt.datetime.now(dt.UTC)

    @property
    def expires_soon(self) -> bool:
        return not self.expired and self.days_left < EXPIRY_WARNING_DAYS


def normalize_certificate(text: str, *, field: str = "idp_certificate") -> str:
    """A pasted certificate (PEM, or bare base64 as OneLogin shows it) as canonical PEM.

    Refuses private keys (with a message that says so), CSRs, and anything that is not an X.509
    certificate.
    """
    text = (text or "").strip()
    if not text:
        raise DomainError("Paste the identity provider's X.509 certificate.", field=field)
    if text.startswith("<"):
        raise DomainError(
            "This looks like XML, not a certificate. To use your identity provider's metadata, "
            "paste or upload it under IdP metadata instead.",
            field=field,
        )
    blocks = _PEM_BLOCK.findall(text)
    if "PRIVATE KEY" in text or any("PRIVATE" in label for label, _ in blocks):
        raise _private_key(field)
    if blocks:
        certificates = [body for label, body in blocks if label == "CERTIFICATE"]
        if len(certificates) != 1:
            raise DomainError(
                "Paste exactly one certificate (one -----BEGIN CERTIFICATE----- block).",
                field=field,
            )
        body = certificates[0]
    else:
        body = text
    compact = re.sub(r"\s+", "", body)
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(
            "This is not a certificate: expected PEM (-----BEGIN CERTIFICATE-----) or the "
            "certificate's base64 text.",
            field=field,
        ) from None
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        if _is_private_key(der):  # copied as bare base64, the way OneLogin shows certificates
            raise _private_key(field) from None
        raise DomainError(
            "This is not an X.509 certificate. Copy the identity provider's signing certificate "
            "(in OneLogin: your app › SSO › X.509 Certificate › View Details).",
            field=field,
        ) from None
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _private_key(field: str) -> DomainError:
    return DomainError(
        "This is a private key, not a certificate. Never share a private key: paste the "
        "identity provider's public X.509 certificate (it starts with "
        "-----BEGIN CERTIFICATE-----). If the key was pasted anywhere public, replace it.",
        field=field,
        code="private_key",
    )


def _is_private_key(der: bytes) -> bool:
    try:
        serialization.load_der_private_key(der, password=None)
    except TypeError:  # an encrypted key: a private key all the same
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def certificate_info(pem: str) -> CertificateInfo:
    certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    digest = certificate.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string() or "(no subject)",
        issuer=certificate.issuer.rfc4514_string() or "(no issuer)",
        fingerprint_sha256=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def certificate_body(pem: str) -> str:
    """The base64 body of a PEM certificate, as SAML metadata's X509Certificate holds it."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


@dataclass(frozen=True)
class IdPMetadata:
    entity_id: str
    sso_url: str
    slo_url: str
    certificates: list[str]


def parse_idp_metadata(xml: str | bytes) -> IdPMetadata:
    """Entity id, SSO/SLO URLs and signing certificates from an IdP's SAML metadata XML."""
    root = _entity_descriptor(xml)
    idp = root.find(f"{{{MD}}}IDPSSODescriptor")
    if idp is None:
        raise DomainError(
            "This metadata describes no identity provider (no IDPSSODescriptor). Did you paste "
            "our service provider metadata instead of your identity provider's?",
            field=METADATA_FIELD,
        )
    certificates = _signing_certificates(idp)
    sso_url = _service_location(idp, "SingleSignOnService")
    if not sso_url:
        raise DomainError(
            "The metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.",
            field=METADATA_FIELD,
        )
    return IdPMetadata(
        entity_id=(root.get("entityID") or "").strip(),
        sso_url=sso_url,
        slo_url=_service_location(idp, "SingleLogoutService"),
        certificates=certificates,
    )


def _entity_descriptor(xml: str | bytes) -> Element:
    """The one EntityDescriptor of the metadata (alone, or the only one of an
    EntitiesDescriptor), parsed without DTDs or entities."""
    raw = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(raw) > MAX_METADATA_BYTES:
        raise DomainError(
            "The metadata file is larger than 512 KB: is it the right file?", field=METADATA_FIELD
        )
    if not raw.strip():
        raise DomainError("The metadata XML is empty.", field=METADATA_FIELD)
    try:
        root = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise DomainError(
            "The metadata XML declares a DTD or entities, which we never process.",
            field=METADATA_FIELD,
        ) from None
    except Exception:  # ElementTree.ParseError and friends: not XML at all
        raise DomainError(
            "The metadata is not well-formed XML. Download it again from your identity provider "
            "(in OneLogin: your app › More Actions › SAML Metadata).",
            field=METADATA_FIELD,
        ) from None
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        descriptors = root.findall(f"{{{MD}}}EntityDescriptor")
        if len(descriptors) != 1:
            raise DomainError(
                "The metadata must describe exactly one identity provider.", field=METADATA_FIELD
            )
        root = descriptors[0]
    if root.tag != f"{{{MD}}}EntityDescriptor":
        raise DomainError(
            "This XML is not SAML 2.0 metadata (no EntityDescriptor).", field=METADATA_FIELD
        )
    return root


def _signing_certificates(idp: Element) -> list[str]:
    """The IdP's one or two signing certificates as PEM (a KeyDescriptor without `use` signs)."""
    certificates: list[str] = []
    for key in idp.findall(f"{{{MD}}}KeyDescriptor"):
        if key.get("use", "signing") != "signing":
            continue
        for node in key.iter(f"{{{DS}}}X509Certificate"):
            pem = normalize_certificate(node.text or "", field=METADATA_FIELD)
            if pem not in certificates:
                certificates.append(pem)
    if not certificates:
        raise DomainError(
            'The metadata has no signing certificate (KeyDescriptor use="signing" with an '
            "X509Certificate), so its sign-ins could not be verified.",
            field=METADATA_FIELD,
        )
    if len(certificates) > 2:
        raise DomainError(
            "The metadata lists more than two signing certificates.", field=METADATA_FIELD
        )
    return certificates


def _service_location(idp: Element, service: str) -> str:
    """The Location of the IdP's `service` endpoint, HTTP-Redirect preferred over HTTP-POST."""
    nodes = idp.findall(f"{{{MD}}}{service}")
    for binding in (BINDING_REDIRECT, BINDING_POST):
        for node in nodes:
            if node.get("Binding") == binding and node.get("Location"):
                return str(node.get("Location")).strip()
    return ""
