"""Checks on a raw SAMLResponse before pysaml2 sees it.

pysaml2 verifies signatures, times, audience and recipient; these checks refuse what it would
let through or handle badly: bodies that are not base64 or not XML (a clear 400, never a 500),
any DTD or entity (XXE, entity expansion — libxmlsec1 parses the document too), comments inside the
document (the NameID truncation trick), nesting deep enough to exhaust pysaml2's recursive
parser, duplicate IDs and extra assertions (the shapes XML signature wrapping needs), weak
signature algorithms, and encrypted assertions (we hold no key).
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from sso.services import SignInRefused

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
MAX_SAML_RESPONSE_CHARS = 256 * 1024
# A genuine response nests about ten deep; pysaml2's parser recurses once per level.
MAX_XML_DEPTH = 64
# The signature algorithms we accept (SHA-256 and up), with the hash each signs: the Redirect
# binding's signature is checked by sso.saml with it.
SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": hashes.SHA512,
}
SIGNATURE_ALGORITHMS = frozenset(SIGNATURE_HASHES)
DIGEST_ALGORITHMS = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
}


@dataclass(frozen=True)
class InspectedResponse:
    xml: bytes
    in_response_to: str
    issuer: str


def bad_request(reason: str, message: str) -> SignInRefused:
    return SignInRefused(reason, message, status=400)


def malformed(reason: str) -> SignInRefused:
    return SignInRefused(
        reason,
        "The sign-in response from your identity provider was malformed or tampered with, so "
        "nobody was signed in.",
    )


def inspect_saml_response(encoded: str) -> InspectedResponse:
    """The response's XML, InResponseTo and Issuer, once every check above has passed;
    SignInRefused (400 for what is not a SAML response at all) for the first that fails."""
    xml = _decode(encoded)
    root = _parse(xml)
    _check_nodes(root)
    _check_content(root)
    _check_signature_shape(root)
    issuer = root.find(f"{{{SAML}}}Issuer")
    return InspectedResponse(
        xml=xml,
        in_response_to=root.get("InResponseTo") or "",
        issuer=(issuer.text or "").strip() if issuer is not None else "",
    )


def _decode(encoded: str) -> bytes:
    if len(encoded) > MAX_SAML_RESPONSE_CHARS:
        raise bad_request("too_large", "The sign-in response is too large to be genuine.")
    try:
        return base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(
            "not_base64", "The sign-in response is not a SAML response (it is not base64)."
        ) from None


def _parse(xml: bytes) -> ET.Element:
    """The root element, with comments and processing instructions kept so they can be refused."""
    parser = DefusedXMLParser(
        target=ET.TreeBuilder(insert_comments=True, insert_pis=True),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        parser.feed(xml)
        root = parser.close()
    except DefusedXmlException:
        raise malformed("xml_dtd") from None
    except (ET.ParseError, UnicodeError, ValueError):
        raise bad_request(
            "not_xml", "The sign-in response is not a SAML response (it is not XML)."
        ) from None
    if root.tag != f"{{{SAMLP}}}Response":
        raise bad_request("not_saml_response", "The sign-in response is not a SAML Response.")
    return root


def _check_nodes(root: ET.Element) -> None:
    """No nesting deeper than MAX_XML_DEPTH, no comment or processing instruction, no ID twice."""
    ids: set[str] = set()
    unvisited = [(root, 1)]
    while unvisited:
        node, depth = unvisited.pop()
        if depth > MAX_XML_DEPTH:
            raise malformed("xml_too_deep")
        if node.tag in (ET.Comment, ET.ProcessingInstruction):
            raise malformed("xml_comment")
        node_id = node.get("ID")
        if node_id is not None:
            if node_id in ids:
                raise malformed("duplicate_id")
            ids.add(node_id)
        unvisited.extend((child, depth + 1) for child in node)


def _check_content(root: ET.Element) -> None:
    """A successful status and exactly one plain assertion, a direct child of the response."""
    if any(True for _ in root.iter(f"{{{SAML}}}EncryptedAssertion")):
        raise SignInRefused(
            "encrypted_assertion",
            "Your identity provider encrypts its assertions, which Switchboard does not "
            "support. Ask your administrator to turn off assertion encryption.",
        )
    status = root.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode")
    if status is not None and status.get("Value") != STATUS_SUCCESS:
        raise SignInRefused(
            "idp_refused",
            "Your identity provider did not sign you in. Please contact your company's "
            "Switchboard administrator.",
        )
    assertions = list(root.iter(f"{{{SAML}}}Assertion"))
    if len(assertions) != 1 or len(root.findall(f"{{{SAML}}}Assertion")) != 1:
        raise malformed("assertion_count")


def _check_signature_shape(root: ET.Element) -> None:
    """An enveloped signature on the response or its assertion, with accepted algorithms only."""
    signature = f"{{{DS}}}Signature"
    assertion = root.find(f"{{{SAML}}}Assertion")
    if root.find(signature) is None and (assertion is None or assertion.find(signature) is None):
        raise SignInRefused(
            "unsigned", "The sign-in response was not signed by your identity provider."
        )
    for method in root.iter(f"{{{DS}}}SignatureMethod"):
        if method.get("Algorithm") not in SIGNATURE_ALGORITHMS:
            raise malformed("weak_signature_algorithm")
    for method in root.iter(f"{{{DS}}}DigestMethod"):
        if method.get("Algorithm") not in DIGEST_ALGORITHMS:
            raise malformed("weak_digest_algorithm")
