import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from sso.models import SAMLConfig
from tests.sso.conftest import ACME_IDP
from tests.sso.test_configure import metadata_xml


def test_configure_saml_command(company, keys, tmp_path, capsys):
    cert = tmp_path / "idp.crt"
    cert.write_text(keys["acme"].cert_base64)  # bare base64, as OneLogin shows it
    call_command(
        "configure_saml",
        "--company=acme",
        f"--idp-entity-id={ACME_IDP}",
        "--idp-sso-url=https://idp.example.test/sso",
        f"--idp-cert-file={cert}",
        "--enable",
        "--allow-idp-initiated",
        "--enforce-sso",
    )
    config = SAMLConfig.objects.get(company=company)
    assert (config.enabled, config.allow_idp_initiated, config.enforce_sso) == (True, True, True)
    assert config.idp_certificate == keys["acme"].cert_pem
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/sso/acme/acs/" in out or "/sso/acme/acs/" in out
    assert AuditEvent.objects.get(action="sso.configured").source == "cli"


def test_configure_saml_command_from_metadata(company, keys, tmp_path):
    metadata = tmp_path / "onelogin.xml"
    metadata.write_text(metadata_xml(keys, "acme", "acme_next"))
    call_command("configure_saml", "--company=acme", f"--metadata-file={metadata}", "--enable")
    assert len(SAMLConfig.objects.get(company=company).certificates) == 2


def test_configure_saml_command_refuses_a_private_key(company, keys, tmp_path):
    key = tmp_path / "oops.pem"
    key.write_text(keys["acme"].key_pem)
    with pytest.raises(CommandError, match="private key"):
        call_command(
            "configure_saml",
            "--company=acme",
            f"--idp-entity-id={ACME_IDP}",
            "--idp-sso-url=https://idp.example.test/sso",
            f"--idp-cert-file={key}",
        )
    assert not SAMLConfig.objects.exists()


def test_configure_saml_command_unknown_company(db):
    with pytest.raises(CommandError, match="No company"):
        call_command("configure_saml", "--company=nope")
