"""IdP-initiated single logout at /sso/<slug>/sls/: a LogoutRequest signed by the company's IdP
signs out at once; anything else (unsigned, signed by another key, SHA-1, altered) never signs
anyone out by itself — any web page could send it (a link or an image is enough) — and asks the
person to confirm with a CSRF-protected form instead."""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from saml2 import BINDING_HTTP_REDIRECT
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

from accounts.models import AuditEvent
from sso.saml import sp_entity_id, sp_sls_url
from tests.accounts.factories import UserFactory
from tests.sso.saml_idp import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256, encode

SLS = "/sso/acme/sls/"
SLO = "https://idp.example.test/slo"


def _logout_request(idp, email, *, sign=False, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256):
    _, request = idp.server.create_logout_request(
        sp_sls_url("acme"),
        sp_entity_id("acme"),
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
        sign=sign,
        sign_alg=sign_alg,
        digest_alg=digest_alg,
    )
    return str(request)


def redirect_logout_query(idp, email, *, sign, sign_alg=SIG_RSA_SHA256, relay_state=""):
    """The query string of the IdP's HTTP-Redirect LogoutRequest, signed as the binding signs:
    SigAlg and Signature over the URL-encoded SAMLRequest (and RelayState)."""
    info = idp.server.apply_binding(
        BINDING_HTTP_REDIRECT,
        _logout_request(idp, email),
        sp_sls_url("acme"),
        relay_state,
        sign=sign,
        sigalg=sign_alg,
    )
    return urlsplit(dict(info["headers"])["Location"]).query


@pytest.fixture
def ada_signed_in(client, acme_saml, acme_idp, company):
    acme_saml.idp_slo_url = SLO
    acme_saml.save()
    ada = UserFactory(company=company, email="ada@acme.example")
    client.post("/sso/acme/acs/", {"SAMLResponse": acme_idp.response("ada@acme.example")})
    assert client.session.get("_auth_user_id") == str(ada.pk)
    return ada


def signed_in(client):
    return "_auth_user_id" in client.session


def assert_asks_to_confirm(client, response):
    assert response.status_code == 200, response.content[:300]
    body = response.content.decode()
    assert "Sign out?" in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert 'action="/sso/acme/sls/confirm/"' in body
    assert signed_in(client)
    assert not AuditEvent.objects.filter(action="auth.sign_out").exists()


def test_signed_redirect_logout_request_signs_out_at_once(client, acme_idp, ada_signed_in):
    query = redirect_logout_query(acme_idp, "ada@acme.example", sign=True, relay_state="r1")
    response = client.get(f"{SLS}?{query}")
    assert not signed_in(client)
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == SLO
    answer = parse_qs(location.query)
    assert answer["RelayState"] == ["r1"]
    event = AuditEvent.objects.get(action="auth.sign_out")
    assert event.actor_user == ada_signed_in
    assert event.after == {"initiated_by": "identity_provider", "signature": "valid"}


def test_signed_post_logout_request_signs_out_at_once(client, acme_idp, ada_signed_in):
    saml_request = encode(_logout_request(acme_idp, "ada@acme.example", sign=True))
    response = client.post(SLS, {"SAMLRequest": saml_request})
    assert not signed_in(client)
    assert response["Location"].startswith(f"{SLO}?SAMLResponse=")


def test_post_logout_request_with_a_sha1_digest_only_asks(client, acme_idp, ada_signed_in):
    """SHA-256 signature over a SHA-1 digest of the request: the digest is what the signature
    vouches for, so SHA-1 there is refused like a SHA-1 signature (pysaml2's IdP digests with
    SHA-1 unless told otherwise; OneLogin, Okta and Entra use SHA-256)."""
    saml_request = encode(
        _logout_request(acme_idp, "ada@acme.example", sign=True, digest_alg=DIGEST_SHA1)
    )
    assert_asks_to_confirm(client, client.post(SLS, {"SAMLRequest": saml_request}))
    event = AuditEvent.objects.get(action="auth.sign_out_unverified")
    assert event.after["signature"] == "weak_algorithm"


def test_unsigned_logout_request_from_any_page_only_asks(client, acme_idp, ada_signed_in):
    """The attack: a page the user visits embeds <img src=".../sls/?SAMLRequest=…">, built
    from the IdP's entity id and the user's email alone."""
    query = redirect_logout_query(acme_idp, "ada@acme.example", sign=False)
    response = client.get(f"{SLS}?{query}")
    assert_asks_to_confirm(client, response)
    event = AuditEvent.objects.get(action="auth.sign_out_unverified")
    assert event.after["signature"] == "missing"
    assert event.actor_user == ada_signed_in

    # The person confirms: signed out, and the IdP gets its LogoutResponse.
    confirm = client.post("/sso/acme/sls/confirm/")
    assert not signed_in(client)
    assert confirm["Location"].startswith(f"{SLO}?SAMLResponse=")
    sign_out = AuditEvent.objects.get(action="auth.sign_out")
    assert sign_out.after == {
        "initiated_by": "identity_provider",
        "signature": "missing",
        "confirmed": True,
    }


def test_unsigned_post_logout_request_only_asks(client, acme_idp, ada_signed_in):
    saml_request = encode(_logout_request(acme_idp, "ada@acme.example", sign=False))
    assert_asks_to_confirm(client, client.post(SLS, {"SAMLRequest": saml_request}))


def test_the_confirmation_needs_the_csrf_token(acme_idp, ada_signed_in, client):
    """Another site cannot post the confirmation for the user either."""
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    query = redirect_logout_query(acme_idp, "ada@acme.example", sign=False)
    page = strict.get(f"{SLS}?{query}")
    assert page.status_code == 200
    assert strict.post("/sso/acme/sls/confirm/").status_code == 403
    assert signed_in(strict)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    response = strict.post("/sso/acme/sls/confirm/", {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    assert not signed_in(strict)


def test_get_on_the_confirmation_signs_nobody_out(client, ada_signed_in):
    assert client.get("/sso/acme/sls/confirm/").status_code == 405
    assert signed_in(client)


def test_logout_request_signed_by_another_key_only_asks(client, idps, ada_signed_in):
    # Same issuer as acme's IdP, the attacker's key.
    query = redirect_logout_query(idps["evil"], "ada@acme.example", sign=True)
    assert_asks_to_confirm(client, client.get(f"{SLS}?{query}"))
    event = AuditEvent.objects.get(action="auth.sign_out_unverified")
    assert event.after["signature"] == "invalid"


def test_post_logout_request_signed_by_another_key_only_asks(client, idps, ada_signed_in):
    saml_request = encode(_logout_request(idps["evil"], "ada@acme.example", sign=True))
    assert_asks_to_confirm(client, client.post(SLS, {"SAMLRequest": saml_request}))
    event = AuditEvent.objects.get(action="auth.sign_out_unverified")
    assert event.after["signature"] == "invalid"


def test_sha1_signed_logout_request_only_asks(client, acme_idp, ada_signed_in):
    query = redirect_logout_query(acme_idp, "ada@acme.example", sign=True, sign_alg=SIG_RSA_SHA1)
    assert_asks_to_confirm(client, client.get(f"{SLS}?{query}"))
    event = AuditEvent.objects.get(action="auth.sign_out_unverified")
    assert event.after["signature"] == "weak_algorithm"


def test_signed_logout_request_with_another_relay_state_only_asks(client, acme_idp, ada_signed_in):
    """RelayState is covered by the signature: changing it breaks it."""
    query = parse_qs(redirect_logout_query(acme_idp, "ada@acme.example", sign=True))
    query["RelayState"] = ["https://evil.example/"]
    response = client.get(f"{SLS}?{urlencode(query, doseq=True)}")
    assert_asks_to_confirm(client, response)


def test_a_signature_copied_onto_another_users_request_only_asks(
    client, acme_idp, ada_signed_in, company
):
    """The attacker signs out as themselves (a genuinely signed request for their own account)
    and moves that signature onto a request naming the victim."""
    UserFactory(company=company, email="mallory@acme.example")
    theirs = parse_qs(redirect_logout_query(acme_idp, "mallory@acme.example", sign=True))
    victims = parse_qs(redirect_logout_query(acme_idp, "ada@acme.example", sign=False))
    victims.update(SigAlg=theirs["SigAlg"], Signature=theirs["Signature"])
    response = client.get(f"{SLS}?{urlencode(victims, doseq=True)}")
    assert_asks_to_confirm(client, response)


def test_a_second_saml_request_beside_a_signed_one_only_asks(
    client, acme_idp, ada_signed_in, company
):
    """Two SAMLRequest parameters: the signed one names the attacker, the other the victim."""
    UserFactory(company=company, email="mallory@acme.example")
    theirs = redirect_logout_query(acme_idp, "mallory@acme.example", sign=True)
    victims = parse_qs(redirect_logout_query(acme_idp, "ada@acme.example", sign=False))
    response = client.get(
        f"{SLS}?{theirs}&{urlencode({'SAMLRequest': victims['SAMLRequest']}, doseq=True)}"
    )
    assert_asks_to_confirm(client, response)


def test_unsigned_logout_request_for_nobody_signed_in_here_asks_nothing(
    client, acme_idp, acme_saml
):
    acme_saml.idp_slo_url = SLO
    acme_saml.save()
    query = redirect_logout_query(acme_idp, "ada@acme.example", sign=False)
    response = client.get(f"{SLS}?{query}")
    # Nobody to sign out: the IdP gets its answer, no page, no audit noise.
    assert response["Location"].startswith(f"{SLO}?SAMLResponse=")
    assert not AuditEvent.objects.filter(action__startswith="auth.sign_out").exists()


def test_confirmation_without_a_pending_request_still_signs_out(client, ada_signed_in):
    response = client.post("/sso/acme/sls/confirm/")
    assert response["Location"] == "/login/?signed_out=1"
    assert not signed_in(client)


def test_our_own_logout_still_ends_at_the_idp_and_back(client, acme_idp, ada_signed_in):
    """SP-initiated: we sign out, send the LogoutRequest, and the IdP's LogoutResponse comes
    back to the SLS, which lands on the sign-in page."""
    response = client.post("/logout/")
    assert response["Location"].startswith(f"{SLO}?SAMLRequest=")
    assert not signed_in(client)
    back = client.get(SLS, {"SAMLResponse": "anything", "RelayState": ""})
    assert back["Location"] == "/login/?signed_out=1"
