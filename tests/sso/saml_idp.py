"""A real SAML identity provider for tests: pysaml2's own `saml2.server.Server`, with keys and
certificates generated here, signing responses the way OneLogin does (assertion, response or
both, RSA-SHA256). Responses are built unsigned, optionally altered (times, audience, recipient),
then signed with xmlsec1 — so every test posts a genuinely signed document."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT, samlp
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.samlp import STATUS_SUCCESS
from saml2.server import Server
from saml2.sigver import pre_signature_part
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

from sso.saml import build_sp_config, sp_acs_url, sp_entity_id

AUTHN = {
    "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    "authn_auth": "https://idp.example.test",
}
SAML_TIME = "%Y-%m-%dT%H:%M:%SZ"
__all__ = ["DIGEST_SHA1", "DIGEST_SHA256", "SIG_RSA_SHA1", "SIG_RSA_SHA256"]


@dataclass(frozen=True)
class KeyPair:
    key_file: str
    cert_file: str
    cert_pem: str
    key_pem: str

    @property
    def cert_base64(self) -> str:
        return "".join(line for line in self.cert_pem.splitlines() if "-----" not in line)


def make_key_pair(directory: Path, name: str, *, days: int = 365, past: bool = False) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test IdP"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.idp.example.test"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=days + 10) if past else now - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_file = directory / f"{name}.key"
    cert_file = directory / f"{name}.crt"
    key_file.write_text(key_pem)
    cert_file.write_text(cert_pem)
    return KeyPair(str(key_file), str(cert_file), cert_pem, key_pem)


def sp_metadata(slug: str) -> str:
    return str(entity_descriptor(build_sp_config(slug, None)))


class TestIdP:
    """One identity provider (entity id + signing key). Speaks to the SPs of the given slugs."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        entity_id: str,
        keys: KeyPair,
        sp_slugs: tuple[str, ...] = ("acme",),
        sso_url: str = "https://idp.example.test/sso",
    ):
        self.entity_id = entity_id
        self.keys = keys
        self.sso_url = sso_url
        config = IdPConfig()
        config.load(
            {
                "entityid": entity_id,
                "xmlsec_binary": "/usr/bin/xmlsec1",
                "key_file": keys.key_file,
                "cert_file": keys.cert_file,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]
                        },
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "policy": {"default": {"lifetime": {"minutes": 5}}},
                    }
                },
                "metadata": {"inline": [sp_metadata(slug) for slug in sp_slugs]},
                "accepted_time_diff": 60,
                "delete_tmpfiles": True,
            }
        )
        self.server = Server(config=config)

    def request_id_of(self, redirect_location: str) -> str:
        """The id of an AuthnRequest our SP sent over HTTP-Redirect (parsed by the IdP)."""
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(redirect_location).query)
        request = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        return request.message.id

    def response_xml(
        self,
        email: str,
        *,
        sp_slug: str = "acme",
        in_response_to: str | None = None,
        sign_assertion: bool = True,
        sign_response: bool = False,
        destination: str | None = None,
        audience: str | None = None,
        recipient: str | None = None,
        shift: dt.timedelta = dt.timedelta(0),
        not_before: dt.timedelta | None = None,
        sign_alg: str = SIG_RSA_SHA256,
        digest_alg: str = DIGEST_SHA256,
        attributes: dict[str, list[str]] | None = None,
        alter: Callable[[samlp.Response], None] | None = None,
    ) -> str:
        sp_entity = sp_entity_id(sp_slug)
        unsigned = self.server.create_authn_response(
            identity=attributes or {"givenName": ["Ada"], "sn": ["Lovelace"]},
            in_response_to=in_response_to,
            destination=destination or sp_acs_url(sp_slug),
            sp_entity_id=sp_entity,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn=AUTHN,
            sign_response=False,
            sign_assertion=False,
        )
        response = samlp.response_from_string(str(unsigned))
        assert response.status.status_code.value == STATUS_SUCCESS
        assertion = response.assertion[0]
        if audience is not None:
            restriction = assertion.conditions.audience_restriction[0]
            restriction.audience[0].text = audience
        if recipient is not None:
            for confirmation in assertion.subject.subject_confirmation:
                confirmation.subject_confirmation_data.recipient = recipient
        now = dt.datetime.now(dt.UTC)
        if shift or not_before is not None:
            stamp = (now + shift).strftime(SAML_TIME)
            later = (now + shift + dt.timedelta(minutes=5)).strftime(SAML_TIME)
            response.issue_instant = stamp
            assertion.issue_instant = stamp
            assertion.conditions.not_on_or_after = later
            for confirmation in assertion.subject.subject_confirmation:
                confirmation.subject_confirmation_data.not_on_or_after = later
            for statement in assertion.authn_statement:
                statement.authn_instant = stamp
                statement.session_not_on_or_after = None
            assertion.conditions.not_before = (
                stamp if not_before is None else (now + not_before).strftime(SAML_TIME)
            )
        if alter is not None:
            alter(response)
        cert = self.server.sec.my_cert
        if sign_assertion:
            assertion.signature = pre_signature_part(
                assertion.id, cert, 1, digest_alg=digest_alg, sign_alg=sign_alg
            )
        if sign_response:
            response.signature = pre_signature_part(
                response.id, cert, 2, digest_alg=digest_alg, sign_alg=sign_alg
            )
        xml = str(response)
        if sign_assertion:
            xml = self.server.sec.sign_statement(
                xml, "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", node_id=assertion.id
            )
        if sign_response:
            xml = self.server.sec.sign_statement(
                xml, "urn:oasis:names:tc:SAML:2.0:protocol:Response", node_id=response.id
            )
        return xml if isinstance(xml, str) else xml.decode()

    def response(self, email: str, **kwargs) -> str:
        return encode(self.response_xml(email, **kwargs))


def encode(xml: str | bytes) -> str:
    raw = xml.encode() if isinstance(xml, str) else xml
    return base64.b64encode(raw).decode()


# --- XML signature wrapping: rearrange a genuinely signed document (string surgery, so the
# signed bytes stay byte-identical and the signature itself still verifies) ---

DS_OBJECT = '<ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#">{}</ds:Object>'
EXTENSIONS = (
    '<samlp:Extensions xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">{}</samlp:Extensions>'
)
_ASSERTION = re.compile(r"<(?P<p>[\w.-]+):Assertion\b.*?</(?P=p):Assertion>", re.S)
_RESPONSE_SIGNATURE = re.compile(r"<(?P<p>[\w.-]+):Signature\b.*?</(?P=p):Signature>", re.S)


def signed_assertion(xml: str) -> str:
    match = _ASSERTION.search(xml)
    assert match, "no assertion"
    return match.group(0)


def evil_copy(assertion: str, victim: str, evil_id: str = "_evil0001") -> str:
    """The attacker's assertion: same shape, another NameID, a fresh ID, no signature."""
    evil = re.sub(r'ID="[^"]+"', f'ID="{evil_id}"', assertion, count=1)
    evil = re.sub(r"<(?P<p>[\w.-]+):Signature\b.*?</(?P=p):Signature>", "", evil, flags=re.S)
    return re.sub(r"(<[\w.-]+:NameID\b[^>]*>)[^<]*(</)", rf"\g<1>{victim}\g<2>", evil, count=1)


# Each wrapping variant with what the genuine document signs (the response or its assertion).
XSW_VARIANTS = [
    ("XSW1", "response"),
    ("XSW2", "response"),
    ("XSW3", "assertion"),
    ("XSW4", "assertion"),
    ("XSW5", "assertion"),
    ("XSW6", "assertion"),
    ("XSW7", "assertion"),
    ("XSW8", "assertion"),
]


def wrap(xml: str, variant: str, victim: str) -> str:
    """The XSW1–XSW8 shapes (Somorovsky et al., "On Breaking SAML", 2012)."""
    original = signed_assertion(xml)
    evil = evil_copy(original, victim)
    root_open = re.match(r"(<\?xml[^>]*\?>\s*)?<[\w.-]+:Response\b[^>]*>", xml)
    assert root_open
    head, body = xml[: root_open.end()], xml[root_open.end() :]
    if variant == "XSW1":  # evil response; the signed original response hidden in its Signature
        signature = _RESPONSE_SIGNATURE.search(body)
        assert signature, "XSW1 needs a signed response"
        hidden = xml[len(root_open.group(1) or "") :]
        evil_body = body.replace(original, evil).replace(signature.group(0), "")
        evil_head = re.sub(r'ID="[^"]+"', 'ID="_evilresp"', head, count=1)
        sig = signature.group(0)
        sig_close = sig.rfind("</")
        injected = sig[:sig_close] + DS_OBJECT.format(hidden) + sig[sig_close:]
        return evil_head + injected + evil_body
    if variant == "XSW2":  # like XSW1 but the original response detached beside the signature
        signature = _RESPONSE_SIGNATURE.search(body)
        assert signature, "XSW2 needs a signed response"
        hidden = xml[len(root_open.group(1) or "") :]
        evil_body = body.replace(original, evil).replace(signature.group(0), "")
        evil_head = re.sub(r'ID="[^"]+"', 'ID="_evilresp"', head, count=1)
        return evil_head + signature.group(0) + hidden + evil_body
    if variant == "XSW3":  # evil assertion first, the signed original after it
        return xml.replace(original, evil + original)
    if variant == "XSW4":  # evil assertion wraps the signed original
        close = evil.rfind("</")
        return xml.replace(original, evil[:close] + original + evil[close:])
    if variant == "XSW5":  # evil assertion carries the original's signature; original at the end
        signature = _RESPONSE_SIGNATURE.search(original)
        assert signature
        evil_signed = evil.replace(">", ">" + signature.group(0), 1)
        unsigned_original = original.replace(signature.group(0), "")
        rewritten = head + body.replace(original, evil_signed)
        close = rewritten.rfind("</")
        return rewritten[:close] + unsigned_original + rewritten[close:]
    if variant == "XSW6":  # evil assertion with the signature; original inside that signature
        signature = _RESPONSE_SIGNATURE.search(original)
        assert signature
        unsigned_original = original.replace(signature.group(0), "")
        sig = signature.group(0)
        sig_close = sig.rfind("</")
        sig_with_object = sig[:sig_close] + DS_OBJECT.format(unsigned_original) + sig[sig_close:]
        return xml.replace(original, evil.replace(">", ">" + sig_with_object, 1))
    if variant == "XSW7":  # signed original hidden in an Extensions element, evil one in view
        extensions = EXTENSIONS.format(original)
        return xml.replace(original, extensions + evil)
    if variant == "XSW8":  # evil assertion whose signature's Object holds the original
        signature = _RESPONSE_SIGNATURE.search(original)
        assert signature
        sig = signature.group(0)
        sig_close = sig.rfind("</")
        with_object = sig[:sig_close] + DS_OBJECT.format(original) + sig[sig_close:]
        return xml.replace(original, evil.replace(">", ">" + with_object, 1))
    raise ValueError(variant)
