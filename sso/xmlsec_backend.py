"""XML signature verification in process, with libxmlsec1 through the `xmlsec` binding.

pysaml2 verifies each signature through a crypto backend (`saml2.sigver.CryptoBackend`); its
default, `CryptoBackendXmlSec1`, writes the document to a temporary file and runs the `xmlsec1`
program, once per signature: a process per check, most of a sign-in's cost. This backend does the
same check with the same library in the web process. pysaml2 still does the protocol (which
element must be signed, the xmldsig profile of SAML core 5.4, the certificates from the company's
IdP metadata only) and calls `validate_signature` exactly as it calls the xmlsec1 one.

What is checked here, more strictly than the xmlsec1 command line pysaml2 builds:
- the signed element is the one element with that ID and that SAML name, and the signature is
  its own enveloped `ds:Signature` (a direct child, exactly one);
- only that element's ID is registered, so a Reference can resolve to nothing else;
- the key is the configured certificate handed in by pysaml2 and nothing else: a preset key
  makes libxmlsec1 skip KeyInfo entirely, and no key data may be read from the document;
- only the accepted algorithms run: SHA-256 and up for signatures and digests
  (`sso.inspection.SIGNATURE_HASHES`), exclusive or inclusive canonicalization, enveloped.
The document is parsed by lxml without entities or network access, and refused outright when it
has a DTD, a comment or a processing instruction (sso.inspection refuses them first; this holds
even without it).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import xmlsec
from lxml import etree
from saml2.sigver import CryptoBackend

from sso.inspection import DIGEST_ALGORITHMS, DS, SIGNATURE_ALGORITHMS

logger = logging.getLogger(__name__)

_CONSTANTS = xmlsec.constants
_ALL_TRANSFORMS = {
    getattr(_CONSTANTS, name).href: getattr(_CONSTANTS, name)
    for name in dir(_CONSTANTS)
    if name.startswith("Transform") and hasattr(getattr(_CONSTANTS, name), "href")
}
_CANONICALIZATIONS = (
    _CONSTANTS.TransformExclC14N,
    _CONSTANTS.TransformExclC14NWithComments,
    _CONSTANTS.TransformInclC14N,
    _CONSTANTS.TransformInclC14NWithComments,
)
# Per Reference: the enveloped-signature transform, canonicalization, the digest.
REFERENCE_TRANSFORMS = (
    _CONSTANTS.TransformEnveloped,
    *_CANONICALIZATIONS,
    *(_ALL_TRANSFORMS[href] for href in sorted(DIGEST_ALGORITHMS)),
)
# SignedInfo: its canonicalization and the signature method.
SIGNATURE_TRANSFORMS = (
    *_CANONICALIZATIONS,
    *(_ALL_TRANSFORMS[href] for href in sorted(SIGNATURE_ALGORITHMS)),
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


@lru_cache(maxsize=64)
def _certificate_key(pem: bytes) -> xmlsec.Key:
    # A company's IdP certificate is verified against many times; parse it once per process.
    return xmlsec.Key.from_memory(pem, _CONSTANTS.KeyDataFormatCertPem)


def _qualified_name(node_name: str) -> str:
    """pysaml2 names the signed class 'urn:…:assertion:Assertion'; lxml says '{urn:…}Assertion'."""
    namespace, _, local = node_name.rpartition(":")
    return f"{{{namespace}}}{local}"


def verify_enveloped_signature(
    document: bytes, certificate_pem: bytes, node_name: str, node_id: str
) -> bool:
    """True when the element `node_name` with ID `node_id` carries one enveloped signature that
    verifies with `certificate_pem`'s key and accepted algorithms; False for anything else."""
    try:
        root = etree.fromstring(document, parser=_parser())
    except (etree.XMLSyntaxError, ValueError):
        return False
    if root.getroottree().docinfo.internalDTD is not None or any(
        True for _ in root.iter(etree.Comment, etree.ProcessingInstruction)
    ):
        # No entity may stand in for signed text, and no comment may split it (exclusive
        # canonicalization drops comments, so "ad<!---->a@evil" would verify as "ada@evil").
        return False
    tag = _qualified_name(node_name)
    matches = [
        element
        for element in root.iter(tag)
        if isinstance(element.tag, str) and element.get("ID") == node_id
    ]
    if len(matches) != 1 or not node_id:
        return False
    signed = matches[0]
    signatures = signed.findall(f"{{{DS}}}Signature")
    if len(signatures) != 1:
        return False
    context = xmlsec.SignatureContext()
    try:
        context.register_id(signed, "ID")
        context.set_enabled_key_data([])
        for transform in REFERENCE_TRANSFORMS:
            context.enable_reference_transform(transform)
        for transform in SIGNATURE_TRANSFORMS:
            context.enable_signature_transform(transform)
        context.key = _certificate_key(certificate_pem)
        context.verify(signatures[0])
    except (xmlsec.VerificationError, xmlsec.Error) as error:
        # The ACS logs the refusal once; anyone may POST a bad signature.
        logger.debug("XML signature of %s %r did not verify: %s", node_name, node_id, error)
        return False
    return True


class InProcessXmlSecBackend(CryptoBackend):
    """pysaml2's crypto backend, verifying in process (see the module docstring).

    Only verification is provided; signing and decryption raise NotImplementedError (we hold no
    IdP role and accept no encrypted assertions)."""

    @property
    def version(self) -> str:
        version: tuple[int, ...] = xmlsec.get_libxmlsec_version()  # type: ignore[attr-defined]
        return ".".join(str(part) for part in version)

    def validate_signature(
        self, signedtext: Any, cert_file: str, cert_type: str, node_name: str, node_id: str
    ) -> bool:
        if cert_type != "pem":
            return False
        if not isinstance(signedtext, bytes):
            signedtext = str(signedtext).encode("utf-8")
        with open(cert_file, "rb") as certificate:
            pem = certificate.read()
        return verify_enveloped_signature(signedtext, pem, node_name, node_id or "")
