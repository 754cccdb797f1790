"""The deployment's SP signing key: `manage.py sp_keys`, the SP metadata publishing its
certificates (two during a rollover), and AuthnRequests and our LogoutRequests signed with
RSA-SHA256 when the company turns on "Sign requests", checked by pysaml2's IdP the way its own
IdP checks HTTP-Redirect signatures."""

import os
import re
import stat
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command
from saml2 import BINDING_HTTP_REDIRECT
from saml2.sigver import verify_redirect_signature

from sso.saml import sp_entity_id
from tests.accounts.factories import UserFactory
from tests.sso.conftest import ACME_IDP
from tests.sso.saml_idp import TestIdP

SLO = "https://idp.example.test/slo"
SIG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def sp_keys_command(*args):
    out = StringIO()
    call_command("sp_keys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def key_dir(tmp_path, settings):
    settings.SAML_SP_KEY_DIR = str(tmp_path / "sp-keys")
    return tmp_path / "sp-keys"


@pytest.fixture
def sp_key(key_dir):
    sp_keys_command("generate")
    return key_dir


def metadata_certificates(client):
    body = client.get("/sso/acme/metadata/").content.decode()
    return re.findall(r"<(?:\w+:)?X509Certificate>([^<]+)<", body), body


def test_generate_show_and_roll_over_never_print_the_key(client, key_dir, company):
    generated = sp_keys_command("generate")
    assert "SHA-256" in generated
    key_file = key_dir / "signing.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    with pytest.raises(CommandError, match="already exists"):
        sp_keys_command("generate")
    first, body = metadata_certificates(client)
    assert len(first) == 1
    assert 'use="signing"' in body

    started = sp_keys_command("rollover")
    shown = sp_keys_command("show")
    during, _ = metadata_certificates(client)
    assert len(during) == 2
    assert during[0] == first[0]  # the signing one still signs; the next one is announced

    finished = sp_keys_command("rollover", "--finish")
    after, _ = metadata_certificates(client)
    assert after == [during[1]]
    assert not (key_dir / "next.key").exists()
    secret = key_file.read_text()
    for output in (generated, started, shown, finished, body):
        assert "PRIVATE KEY" not in output
        assert secret.splitlines()[1] not in output
    assert "not shown" in shown


def test_without_a_key_nothing_is_signed_or_published(client, key_dir, acme_saml):
    acme_saml.sign_requests = True
    acme_saml.save()
    assert sp_keys_command("show").startswith("No SP signing key")
    certificates, _ = metadata_certificates(client)
    assert certificates == []
    location = client.get("/sso/acme/login/")["Location"]
    assert "Signature=" not in location


def _verified_by_idp(sp_key, location):
    """pysaml2's IdP, knowing our SP from its metadata, checks the HTTP-Redirect signature."""
    idp = TestIdP(ACME_IDP, _idp_keys(sp_key), ("acme",))
    query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    certificates = [cert for _, cert in idp.server.metadata.certs(sp_entity_id("acme"), "any")]
    assert certificates, "the IdP found no certificate in our metadata"
    verified = any(
        verify_redirect_signature(query, idp.server.sec.sec_backend, cert) for cert in certificates
    )
    return verified, query, idp


def _idp_keys(sp_key):
    from tests.sso.saml_idp import make_key_pair

    return make_key_pair(sp_key, "idp-for-signing")


def test_authn_request_is_signed_when_the_company_signs_requests(client, sp_key, acme_saml):
    assert "Signature=" not in client.get("/sso/acme/login/")["Location"]
    acme_saml.sign_requests = True
    acme_saml.save()
    location = client.get("/sso/acme/login/")["Location"]
    verified, query, idp = _verified_by_idp(sp_key, location)
    assert query["SigAlg"] == SIG_RSA_SHA256
    assert verified
    request = idp.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
    assert request.message.issuer.text == sp_entity_id("acme")
    # Altered on the way, it no longer verifies.
    tampered = location.replace("RelayState=", "RelayState=%2Fevil", 1)
    assert not _verified_by_idp(sp_key, tampered)[0]


def test_sp_initiated_logout_is_signed_and_the_idp_accepts_it(
    client, sp_key, acme_saml, acme_idp, company
):
    acme_saml.sign_requests = True
    acme_saml.idp_slo_url = SLO
    acme_saml.save()
    UserFactory(company=company, email="ada@acme.example")
    signed_in = client.post(
        "/sso/acme/acs/", {"SAMLResponse": acme_idp.response("ada@acme.example")}
    )
    assert signed_in.status_code == 302
    location = client.post("/logout/")["Location"]
    assert location.startswith(f"{SLO}?SAMLRequest=")
    assert "_auth_user_id" not in client.session
    verified, query, idp = _verified_by_idp(sp_key, location)
    assert query["SigAlg"] == SIG_RSA_SHA256
    assert verified
    request = idp.server.parse_logout_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
    assert request.message.name_id.text == "ada@acme.example"


def test_sign_requests_is_saved_from_the_saml_page_and_audited(
    company_admin_client, acme_saml, keys
):
    from accounts.models import AuditEvent
    from tests.sso.test_settings_page import PAGE, form_data

    assert "Sign requests" in company_admin_client.get(PAGE).content.decode()
    response = company_admin_client.post(PAGE, form_data(keys, sign_requests="on"))
    assert response.status_code == 302
    acme_saml.refresh_from_db()
    assert acme_saml.sign_requests is True
    change = AuditEvent.objects.get(action="sso.settings_changed")
    assert change.after["sign_requests"] is True
