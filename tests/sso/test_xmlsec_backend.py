"""The in-process signature check (sso.xmlsec_backend) on its own: genuine signatures from
pysaml2's IdP verify in this process, and every attack on the signature itself fails here even
without sso.inspection's checks in front of it."""

import re

import lxml.etree
import pytest
import xmlsec
from saml2.sigver import CryptoBackendXmlSec1, XmlsecError

from sso.xmlsec_backend import InProcessXmlSecBackend, verify_enveloped_signature
from tests.sso.saml_idp import DIGEST_SHA1, SIG_RSA_SHA1, XSW_VARIANTS, wrap

ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
RESPONSE = "urn:oasis:names:tc:SAML:2.0:protocol:Response"


def ids(xml):
    response_id = re.search(r'<[\w.-]+:Response\b[^>]*\bID="([^"]+)"', xml)
    assertion_id = re.search(r'<[\w.-]+:Assertion\b[^>]*\bID="([^"]+)"', xml)
    assert response_id
    assert assertion_id
    return response_id.group(1), assertion_id.group(1)


@pytest.fixture
def acme_cert(keys):
    return keys["acme"].cert_pem.encode()


def test_lxml_and_xmlsec_load_the_same_libxml2_and_verify_in_this_process(acme_idp, acme_cert):
    assert xmlsec.get_libxml_version() == lxml.etree.LIBXML_VERSION
    xml = acme_idp.response_xml("ada@acme.example", sign_response=True)
    response_id, assertion_id = ids(xml)
    assert verify_enveloped_signature(xml.encode(), acme_cert, ASSERTION, assertion_id)
    assert verify_enveloped_signature(xml.encode(), acme_cert, RESPONSE, response_id)


def test_backend_answers_pysaml2_like_the_xmlsec1_program(acme_idp, keys, monkeypatch):
    """Same call, same answers: the backend is a drop-in for pysaml2's CryptoBackendXmlSec1."""
    xml = acme_idp.response_xml("ada@acme.example")
    tampered = xml.replace("ada@acme.example", "eve@acme.example")
    _, assertion_id = ids(xml)
    monkeypatch.undo()  # the SSO suite forbids the xmlsec1 program as a verifier; not here
    program = CryptoBackendXmlSec1("/usr/bin/xmlsec1")
    in_process = InProcessXmlSecBackend()
    for document, expected in ((xml, True), (tampered, False)):
        for backend in (program, in_process):
            try:
                answer = backend.validate_signature(
                    document, keys["acme"].cert_file, "pem", ASSERTION, assertion_id
                )
            except XmlsecError:  # how the program says "does not verify"; pysaml2 reads it so
                answer = False
            assert answer is expected, (backend, expected)


def test_another_key_fails_even_with_its_certificate_in_key_info(idps, acme_cert, keys):
    """Key confusion: the attacker signs with its own key and ships its certificate in KeyInfo;
    only the configured certificate counts."""
    xml = idps["evil"].response_xml("ada@acme.example")
    assert keys["evil"].cert_base64[:40] in xml  # its certificate rides along in KeyInfo
    _, assertion_id = ids(xml)
    assert not verify_enveloped_signature(xml.encode(), acme_cert, ASSERTION, assertion_id)
    evil_cert = keys["evil"].cert_pem.encode()
    assert verify_enveloped_signature(xml.encode(), evil_cert, ASSERTION, assertion_id)


def test_text_altered_after_signing_fails(acme_idp, acme_cert):
    xml = acme_idp.response_xml("ada@acme.example")
    _, assertion_id = ids(xml)
    tampered = xml.replace("ada@acme.example", "ceo@acme.example")
    assert not verify_enveloped_signature(tampered.encode(), acme_cert, ASSERTION, assertion_id)


def test_stripped_signature_fails(acme_idp, acme_cert):
    xml = acme_idp.response_xml("ada@acme.example")
    _, assertion_id = ids(xml)
    stripped = re.sub(r"<(?P<p>[\w.-]+):Signature\b.*?</(?P=p):Signature>", "", xml, flags=re.S)
    assert not verify_enveloped_signature(stripped.encode(), acme_cert, ASSERTION, assertion_id)


def test_a_signature_is_checked_only_on_the_element_it_envelops(acme_idp, acme_cert):
    """The assertion is signed, the response is not: asking for the response's signature (or an
    id that is not there) fails rather than borrowing the assertion's."""
    xml = acme_idp.response_xml("ada@acme.example")
    response_id, assertion_id = ids(xml)
    assert not verify_enveloped_signature(xml.encode(), acme_cert, RESPONSE, response_id)
    assert not verify_enveloped_signature(xml.encode(), acme_cert, RESPONSE, assertion_id)
    assert not verify_enveloped_signature(xml.encode(), acme_cert, ASSERTION, "_nothing")
    assert not verify_enveloped_signature(xml.encode(), acme_cert, ASSERTION, "")


def test_wrong_reference_uri_fails(acme_idp, acme_cert):
    """The Reference points at the response, not at the assertion that carries the signature."""
    xml = acme_idp.response_xml("ada@acme.example")
    response_id, assertion_id = ids(xml)
    moved = xml.replace(f'URI="#{assertion_id}"', f'URI="#{response_id}"', 1)
    assert moved != xml
    assert not verify_enveloped_signature(moved.encode(), acme_cert, ASSERTION, assertion_id)
    external = xml.replace(f'URI="#{assertion_id}"', 'URI="http://evil.example/doc.xml"', 1)
    assert not verify_enveloped_signature(external.encode(), acme_cert, ASSERTION, assertion_id)


@pytest.mark.parametrize(
    ("variant", "signed"),
    XSW_VARIANTS,
)
def test_signature_wrapping_never_verifies_the_attackers_element(
    acme_idp, acme_cert, variant, signed
):
    """The element the attacker wants read (its id '_evil0001', or the '_evilresp' response)
    never verifies, whichever signature was moved next to it."""
    xml = acme_idp.response_xml(
        "ada@acme.example",
        sign_assertion=signed == "assertion",
        sign_response=signed == "response",
    )
    wrapped = wrap(xml, variant, "ceo@acme.example").encode()
    assert not verify_enveloped_signature(wrapped, acme_cert, ASSERTION, "_evil0001")
    assert not verify_enveloped_signature(wrapped, acme_cert, RESPONSE, "_evilresp")


def test_two_elements_with_the_signed_id_fail(acme_idp, acme_cert):
    xml = acme_idp.response_xml("ada@acme.example")
    _, assertion_id = ids(xml)
    assertion = re.search(r"<(?P<p>[\w.-]+):Assertion\b.*?</(?P=p):Assertion>", xml, re.S)
    assert assertion
    doubled = xml.replace(assertion.group(0), assertion.group(0) * 2)
    assert not verify_enveloped_signature(doubled.encode(), acme_cert, ASSERTION, assertion_id)


def test_comment_inside_signed_text_fails(acme_idp, acme_cert):
    """Exclusive canonicalization drops comments, so the signature alone would still verify
    'ada@acme.example<!---->.evil'; the backend refuses any comment or processing instruction."""
    xml = acme_idp.response_xml("ada@acme.example")
    _, assertion_id = ids(xml)
    for inserted in ("<!---->", "<?pi x?>"):
        tampered = xml.replace("ada@acme.example<", f"ada@acme.example{inserted}<", 1)
        assert tampered != xml
        assert not verify_enveloped_signature(tampered.encode(), acme_cert, ASSERTION, assertion_id)


def test_dtd_entities_fail_and_are_never_expanded(acme_idp, acme_cert, tmp_path):
    xml = acme_idp.response_xml("ada@acme.example")
    _, assertion_id = ids(xml)
    secret = tmp_path / "secret.txt"
    secret.write_text("ada@acme.example")
    body = re.sub(r"^<\?xml[^>]*\?>\s*", "", xml)
    root = re.match(r"<([\w.-]+:Response)", body)
    assert root
    xxe = f'<!DOCTYPE {root.group(1)} [<!ENTITY x SYSTEM "file://{secret}">]>'
    laughs = (
        f'<!DOCTYPE {root.group(1)} [<!ENTITY a "ada"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    )
    for doctype, name in ((xxe, "&x;"), (laughs, "&c;")):
        tampered = doctype + body.replace("ada@acme.example<", f"{name}<", 1)
        assert not verify_enveloped_signature(tampered.encode(), acme_cert, ASSERTION, assertion_id)


def test_sha1_signature_fails_even_with_the_right_key(acme_idp, acme_cert):
    xml = acme_idp.response_xml("ada@acme.example", sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1)
    _, assertion_id = ids(xml)
    assert not verify_enveloped_signature(xml.encode(), acme_cert, ASSERTION, assertion_id)


def test_not_xml_fails_without_raising(acme_cert):
    assert not verify_enveloped_signature(b"not xml <", acme_cert, ASSERTION, "_x")
    assert not verify_enveloped_signature(b"", acme_cert, ASSERTION, "_x")
