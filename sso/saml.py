"""Each company's SAML service provider, built from the database for djangosaml2 and pysaml2.

Our entity id is the company's metadata URL and our ACS its /sso/<slug>/acs/, both from
PUBLIC_BASE_URL (never from the request's Host header). The IdP is described by inline metadata
built from the company's settings, with one or two signing certificates (rollover).
"""

from __future__ import annotations

import ast
import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus
from xml.sax.saxutils import quoteattr

import saml2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from django.http import Http404, HttpRequest
from django.urls import reverse
from djangosaml2.overrides import Saml2Client
from saml2 import samlp
from saml2.config import SPConfig
from saml2.response import IncorrectlySigned
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

from sso import sp_keys
from sso.certificates import BINDING_POST, BINDING_REDIRECT, certificate_body
from sso.inspection import DIGEST_ALGORITHMS, SIGNATURE_ALGORITHMS, SIGNATURE_HASHES
from sso.models import SAMLConfig
from sso.xmlsec_backend import InProcessXmlSecBackend


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def sp_entity_id(slug: str) -> str:
    return absolute(reverse("sso:metadata", args=[slug]))


def sp_acs_url(slug: str) -> str:
    return absolute(reverse("sso:acs", args=[slug]))


def sp_sls_url(slug: str) -> str:
    return absolute(reverse("sso:sls", args=[slug]))


def idp_metadata_xml(config: SAMLConfig) -> str:
    keys = "".join(
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{certificate_body(pem)}"
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for pem in config.certificates
    )
    slo = ""
    if config.idp_slo_url:
        slo = "".join(
            f"<md:SingleLogoutService Binding={quoteattr(binding)} "
            f"Location={quoteattr(config.idp_slo_url)}/>"
            for binding in (BINDING_REDIRECT, BINDING_POST)
        )
    sso = "".join(
        f"<md:SingleSignOnService Binding={quoteattr(binding)} "
        f"Location={quoteattr(config.idp_sso_url)}/>"
        for binding in (BINDING_REDIRECT, BINDING_POST)
    )
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
        f"entityID={quoteattr(config.idp_entity_id)}>"
        '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}{slo}"
        f"<md:NameIDFormat>{NAMEID_FORMAT_EMAILADDRESS}</md:NameIDFormat>"
        f"{sso}</md:IDPSSODescriptor></md:EntityDescriptor>"
    )


def sp_config_dict(slug: str, config: SAMLConfig | None) -> dict[str, Any]:
    """The pysaml2 SP configuration of one company (no IdP yet: metadata only describes us)."""
    acs = sp_acs_url(slug)
    sls = sp_sls_url(slug)
    signing = sp_keys.signing_pair()
    signs = bool(signing is not None and config is not None and config.sign_requests)
    sp: dict[str, Any] = {
        "name": f"Switchboard ({slug})",
        "endpoints": {
            "assertion_consumer_service": [(acs, saml2.BINDING_HTTP_POST)],
            "single_logout_service": [
                (sls, saml2.BINDING_HTTP_REDIRECT),
                (sls, saml2.BINDING_HTTP_POST),
            ],
        },
        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
        "name_id_format_allow_create": False,
        # OneLogin's "SAML signature element" may sign the assertion, the response or both:
        # accept any of the three, never neither.
        "want_assertions_or_response_signed": True,
        "want_assertions_signed": False,
        "want_response_signed": False,
        "authn_requests_signed": signs,
        "logout_requests_signed": signs,
        "allow_unsolicited": bool(config and config.allow_idp_initiated),
        "allow_unknown_attributes": True,
        "signing_algorithm": saml2.xmldsig.SIG_RSA_SHA256,
        "digest_algorithm": saml2.xmldsig.DIGEST_SHA256,
    }
    conf: dict[str, Any] = {
        "entityid": sp_entity_id(slug),
        # pysaml2's xmlsec1 backend also loads the signing key for the HTTP-Redirect binding's
        # signatures (its XMLSecurity one does not); `saml_client` puts ours in for verifying.
        "crypto_backend": "xmlsec1",
        "xmlsec_binary": settings.SAML_XMLSEC1_BINARY,
        "service": {"sp": sp},
        "accepted_time_diff": settings.SAML_CLOCK_SKEW,
        # Signatures are checked only against certificates we were given, never KeyInfo's.
        "only_use_keys_in_metadata": True,
        "allow_unknown_attributes": True,
        "delete_tmpfiles": True,
        "metadata": {"inline": [idp_metadata_xml(config)]} if config else {},
    }
    if signing is not None:
        # The metadata publishes the signing certificate, and the next one during a rollover;
        # the private key is only ever a file path here.
        published = sp_keys.published_certificates()
        conf.update(
            key_file=str(signing.key_file),
            cert_file=str(published[0]),
            additional_cert_files=[str(path) for path in published[1:]] or None,
            metadata_key_usage="signing",
        )
    return conf


def build_sp_config(slug: str, config: SAMLConfig | None) -> SPConfig:
    """The company's SP configuration, loaded once per process for each distinct set of
    settings: pysaml2's load (inline IdP metadata, attribute maps, extension modules) cost
    about 2 ms of every sign-in. A changed setting, SP key file or base URL makes a new key,
    so no process signs in with settings older than the row it just read."""
    return _loaded_sp_config(repr(sp_config_dict(slug, config)))


@lru_cache(maxsize=256)
def _loaded_sp_config(conf: str) -> SPConfig:
    # Keyed by the repr of sp_config_dict(): plain literals (str, bool, int, list, tuple,
    # dict, None) that literal_eval reads back exactly. pysaml2 only reads a loaded SPConfig.
    sp_config = SPConfig()
    sp_config.load(ast.literal_eval(conf))
    return sp_config


def saml_client(sp_config: SPConfig, **kwargs: Any) -> Saml2Client:
    """pysaml2's client for one company's SP, verifying signatures with the configured backend
    (in process by default, see sso.xmlsec_backend)."""
    client = Saml2Client(sp_config, **kwargs)
    if settings.SAML_CRYPTO_BACKEND != "xmlsec1":
        client.sec.crypto = InProcessXmlSecBackend()
    return client


def config_loader(request: HttpRequest) -> SPConfig:
    """djangosaml2's SAML_CONFIG_LOADER: the SP of the company in the URL (/sso/<slug>/…)."""
    company = getattr(request, "saml_company", None)
    if company is None:
        raise Http404("No such company.")
    return build_sp_config(company.slug, getattr(request, "saml_config", None))


# --- the IdP's LogoutRequest ---

_REDIRECT_PARAMETERS = ("SAMLRequest", "RelayState", "SigAlg", "Signature")


@dataclass(frozen=True)
class LogoutRequest:
    """An IdP's LogoutRequest as read, and how it was signed: 'valid' (by one of the company's
    IdP certificates, SHA-256 or stronger), 'missing', 'invalid' or 'weak_algorithm'."""

    message: Any
    issuer: str
    name_id: str
    signature: str

    @property
    def verified(self) -> bool:
        return self.signature == "valid"


def read_logout_request(
    client: Saml2Client, config: SAMLConfig, encoded: str, binding: str, query_string: str = ""
) -> LogoutRequest:
    """Parse a LogoutRequest (HTTP-Redirect or HTTP-POST) and check its signature.

    pysaml2 verifies an embedded (POST) signature when there is one, but never asks for one and
    ignores the Redirect binding's SigAlg/Signature unless told to require them (an IdP-only
    setting), so the Redirect signature is checked here. Raises ValueError when the message
    cannot be read at all.
    """
    try:
        message = client.parse_logout_request(encoded, binding).message
        signature = _embedded_signature_status(message)
    except IncorrectlySigned:
        # A bad embedded signature, or no XML at all: read it unverified to tell which.
        try:
            xml = client.unravel(encoded, binding, "SAMLRequest")
            message = samlp.logout_request_from_string(xml)
        except Exception as error:
            raise ValueError("unreadable LogoutRequest") from error
        if message is None or message.signature is None:
            raise ValueError("unreadable LogoutRequest") from None
        signature = "weak_algorithm" if _weak_algorithms(message) else "invalid"
    except Exception as error:
        raise ValueError("unreadable LogoutRequest") from error
    if message is None:
        raise ValueError("not a LogoutRequest")
    if binding == saml2.BINDING_HTTP_REDIRECT:
        signature = redirect_signature_status(query_string, config.certificates)
    issuer = (message.issuer.text or "").strip() if message.issuer is not None else ""
    name_id = (message.name_id.text or "").strip() if message.name_id is not None else ""
    return LogoutRequest(message=message, issuer=issuer, name_id=name_id, signature=signature)


def _embedded_signature_status(message: Any) -> str:
    if message is None or message.signature is None:
        return "missing"
    # pysaml2 verified it against the metadata's certificates (with the xmlsec1 program
    # SHA-1 passes there too).
    return "weak_algorithm" if _weak_algorithms(message) else "valid"


def _weak_algorithms(message: Any) -> bool:
    """A signature or digest method below SHA-256 in the message's embedded signature."""
    signed_info = message.signature.signed_info
    digests = {
        getattr(reference.digest_method, "algorithm", None) for reference in signed_info.reference
    }
    return (
        signed_info.signature_method.algorithm not in SIGNATURE_ALGORITHMS
        or not digests <= DIGEST_ALGORITHMS
    )


def redirect_signature_status(query_string: str, certificates: list[str]) -> str:
    """The HTTP-Redirect binding's signature (SAML bindings 3.4.4.1): Signature over the query's
    own URL-encoded 'SAMLRequest=…&RelayState=…&SigAlg=…', as the IdP encoded them (pysaml2
    re-encodes the decoded values, which an IdP's own percent-encoding need not match)."""
    raw: dict[str, str] = {}
    for part in query_string.split("&"):
        name, _, value = part.partition("=")
        if name in _REDIRECT_PARAMETERS:
            if name in raw:
                return "invalid"  # which copy would be the signed one?
            raw[name] = value
    if "Signature" not in raw and "SigAlg" not in raw:
        return "missing"
    algorithm = unquote_plus(raw.get("SigAlg", ""))
    if algorithm not in SIGNATURE_HASHES:
        return "weak_algorithm"
    try:
        signature = base64.b64decode(unquote_plus(raw.get("Signature", "")), validate=True)
    except (ValueError, binascii.Error):
        return "invalid"
    signed = "&".join(f"{name}={raw[name]}" for name in _REDIRECT_PARAMETERS[:3] if name in raw)
    digest = SIGNATURE_HASHES[algorithm]()
    for pem in certificates:
        if _verifies(pem, signature, signed.encode("ascii", "replace"), algorithm, digest):
            return "valid"
    return "invalid"


def _verifies(
    pem: str, signature: bytes, data: bytes, algorithm: str, digest: hashes.HashAlgorithm
) -> bool:
    try:
        key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        if isinstance(key, rsa.RSAPublicKey) and "#rsa-" in algorithm:
            key.verify(signature, data, padding.PKCS1v15(), digest)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and "#ecdsa-" in algorithm:
            # XML signatures carry ECDSA as r || s, not DER.
            half = len(signature) // 2
            der = encode_dss_signature(
                int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
            )
            key.verify(der, data, ec.ECDSA(digest))
            return True
    except (InvalidSignature, ValueError):
        return False
    return False
