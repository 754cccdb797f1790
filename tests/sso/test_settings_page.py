"""Admin Settings › My Company › Authentication › SAML SSO."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent, Plan
from sso.models import SAMLConfig
from tests.accounts.factories import CompanyAdminFactory
from tests.sso.conftest import ACME_IDP
from tests.sso.test_configure import metadata_xml

PAGE = "/admin/my-company/authentication/saml-sso/"


def form_data(keys, **overrides):
    data = {
        "idp_entity_id": ACME_IDP,
        "idp_sso_url": "https://idp.example.test/sso",
        "idp_slo_url": "",
        "idp_certificate": keys["acme"].cert_base64,
        "idp_certificate_2": "",
        "metadata_xml": "",
        "enabled": "on",
        "allow_admin_password_login": "on",
        "jit_license_type": "talk",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_page_is_listed_under_authentication_with_breadcrumbs(company_admin_client):
    section = company_admin_client.get("/admin/section/authentication/")
    assert PAGE in section.content.decode()
    page = company_admin_client.get(PAGE)
    body = page.content.decode()
    assert page.status_code == 200
    assert "My Company" in body
    assert "Authentication" in body
    assert "SAML SSO" in body
    # Our three URLs, each with a copy button.
    assert "http://127.0.0.1:8000/sso/acme/acs/" in body
    assert "http://127.0.0.1:8000/sso/acme/metadata/" in body
    assert body.count('class="button copy-button"') == 3


def test_save_shows_certificate_details_and_audits(company_admin_client, company_admin, keys):
    response = company_admin_client.post(PAGE, form_data(keys, allow_idp_initiated="on"))
    assert response.status_code == 302
    config = SAMLConfig.objects.get(company=company_admin.company)
    assert config.enabled
    assert config.allow_idp_initiated
    assert config.idp_certificate == keys["acme"].cert_pem
    event = AuditEvent.objects.get(action="sso.configured")
    assert event.actor_user == company_admin
    assert event.source == "admin"
    page = company_admin_client.get(PAGE).content.decode()
    assert "CN=acme.idp.example.test" in page
    assert "SHA-256 fingerprint" in page
    assert "anyone who gets hold of a freshly issued sign-in response" in page  # IdP-init warning


def test_expiring_certificate_is_flagged(company_admin_client, tmp_path):
    from tests.sso.saml_idp import make_key_pair

    soon = make_key_pair(tmp_path, "soon", days=10)
    company_admin_client.post(PAGE, {**form_data({"acme": soon}), "idp_certificate": soon.cert_pem})
    assert "This certificate expires in" in company_admin_client.get(PAGE).content.decode()


def test_expired_certificate_is_flagged(company_admin_client, tmp_path):
    from tests.sso.saml_idp import make_key_pair

    old = make_key_pair(tmp_path, "old", days=30, past=True)
    company_admin_client.post(PAGE, {**form_data({"acme": old}), "idp_certificate": old.cert_pem})
    assert "This certificate expired on" in company_admin_client.get(PAGE).content.decode()


def test_private_key_is_refused_beside_the_field(company_admin_client, keys):
    response = company_admin_client.post(
        PAGE, form_data(keys, idp_certificate=keys["acme"].key_pem)
    )
    assert response.status_code == 200
    assert "This is a private key, not a certificate" in response.content.decode()
    assert not SAMLConfig.objects.exists()


@pytest.mark.parametrize("field", ["idp_certificate", "idp_certificate_2", "metadata_xml"])
def test_a_refused_private_key_is_not_shown_again(company_admin_client, keys, field):
    key_line = keys["acme"].key_pem.splitlines()[1]
    pasted = keys["acme"].key_pem
    if field == "metadata_xml":
        body = "".join(keys["acme"].key_pem.splitlines()[1:-1])
        pasted = metadata_xml(keys, "acme").replace(keys["acme"].cert_base64, body)
    response = company_admin_client.post(PAGE, form_data(keys, **{field: pasted}))
    page = response.content.decode()
    assert "This is a private key, not a certificate" in page
    assert key_line[:40] not in page
    assert not SAMLConfig.objects.exists()


def test_bad_entity_id_is_refused(company_admin_client, keys):
    response = company_admin_client.post(PAGE, form_data(keys, idp_entity_id="OneLogin"))
    assert "is not a web address or URN" in response.content.decode()
    assert not SAMLConfig.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("idp_sso_url", "https://[::1/sso", "is not an https:// address"),
        ("idp_slo_url", "https://idp.example.test/slo\r\nX: 1", "is not an https:// address"),
        ("idp_sso_url", "http://idp.example.test/sso", "is not an https:// address"),
        ("idp_entity_id", "https://[::1/metadata", "is not a web address or URN"),
        ("idp_entity_id", "http://127.0.0.1:8000/sso/globex/metadata/", "Switchboard&#x27;s own"),
    ],
)
def test_bad_urls_are_form_errors_and_nothing_is_saved(
    company_admin_client, keys, field, value, message
):
    response = company_admin_client.post(PAGE, form_data(keys, **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SAMLConfig.objects.exists()


def test_metadata_upload_fills_the_settings(company_admin_client, company, keys):
    upload = SimpleUploadedFile("onelogin.xml", metadata_xml(keys, "acme").encode(), "text/xml")
    data = form_data(keys, idp_entity_id="", idp_sso_url="", idp_certificate="")
    response = company_admin_client.post(PAGE, {**data, "metadata_file": upload})
    assert response.status_code == 302
    assert SAMLConfig.objects.get(company=company).idp_entity_id == ACME_IDP


def test_malformed_metadata_paste_is_a_form_error(company_admin_client, keys):
    response = company_admin_client.post(PAGE, form_data(keys, metadata_xml="<md:Entity"))
    assert "not well-formed XML" in response.content.decode()
    assert not SAMLConfig.objects.exists()


def test_other_plans_get_a_clear_message(company_admin_client, company, keys):
    company.plan = Plan.PRO
    company.save()
    page = company_admin_client.get(PAGE).content.decode()
    assert "SAML single sign-on is an Enterprise feature" in page
    assert 'name="idp_entity_id"' not in page
    company_admin_client.post(PAGE, form_data(keys))
    assert not SAMLConfig.objects.exists()


def test_members_cannot_open_the_page(client, member, keys):
    client.force_login(member)
    response = client.get(PAGE)
    assert response.status_code == 403  # the no-access page, not a sign-in loop
    client.post(PAGE, form_data(keys))
    assert not SAMLConfig.objects.exists()


def test_company_admin_can_never_read_or_write_another_companys_settings(
    client, company, other_company, keys, globex_saml
):
    """Cross-tenant: the page only ever shows and changes the admin's own company."""
    acme_admin = CompanyAdminFactory(company=company, email="boss@acme.example")
    client.force_login(acme_admin)
    for url in (PAGE, f"{PAGE}?company=globex"):
        body = client.get(url).content.decode()
        assert "globex" not in body.lower()
        assert globex_saml.idp_entity_id not in body
        assert "CN=globex" not in body
        client.post(url, form_data(keys, idp_entity_id="https://attacker.example/idp"))
    globex_saml.refresh_from_db()
    assert globex_saml.idp_entity_id != "https://attacker.example/idp"
    assert SAMLConfig.objects.get(company=company).idp_entity_id == "https://attacker.example/idp"
    assert not AuditEvent.objects.filter(company=other_company, action__startswith="sso.settings")


def test_operator_picks_a_company(client, company, db, keys):
    from accounts.models import User

    operator = User.objects.create_superuser("ops@switchboard.example", "pw-ops-123456")
    client.force_login(operator)
    assert "?company=acme" in client.get(PAGE).content.decode()
    response = client.post(f"{PAGE}?company=acme", form_data(keys))
    assert response.status_code == 302
    assert SAMLConfig.objects.filter(company=company).exists()
    # A company that cannot exist is as unknown as one that does not (was a 500 for a NUL).
    for slug in ("nope", "ac\x00me"):
        assert client.get(PAGE, {"company": slug}).status_code == 404


@pytest.mark.parametrize("slug", ["acme"])
def test_sp_metadata_describes_our_sp(client, company, slug):
    response = client.get(f"/sso/{slug}/metadata/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'entityID="http://127.0.0.1:8000/sso/acme/metadata/"' in body
    assert 'Location="http://127.0.0.1:8000/sso/acme/acs/"' in body
    assert "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" in body
    assert "xmldsig-more#rsa-sha256" in body
    assert "md5" not in body
    assert "rsa-sha1" not in body


def test_sp_metadata_of_unknown_or_non_enterprise_company_is_404(client, company):
    assert client.get("/sso/nope/metadata/").status_code == 404
    company.plan = Plan.STANDARD
    company.save()
    assert client.get("/sso/acme/metadata/").status_code == 404


def test_every_problem_is_shown_at_once_with_a_summary(company_admin_client, keys):
    response = company_admin_client.post(
        PAGE,
        form_data(
            keys,
            idp_entity_id="",
            idp_sso_url="http://idp.example.test/sso",
            idp_certificate="not a certificate",
            enabled=None,
            enforce_sso="on",
        ),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"idp_entity_id", "idp_sso_url", "idp_certificate", "enforce_sso"}
    body = response.content.decode()
    summary = body.split('id="saml-error-summary"')[1].split("</div>")[0]
    assert "these 4 problems" in summary
    assert 'href="#id_idp_entity_id"' in summary
    assert "Enter the IdP entity ID" in summary
    assert "&#x27;&#x27; is not a URI" not in body
    assert "is not a URI" not in body
    assert not SAMLConfig.objects.exists()


def test_an_entity_id_over_1024_characters_is_refused(company_admin_client, keys):
    long_id = "https://idp.example.test/" + "a" * 2100
    response = company_admin_client.post(PAGE, form_data(keys, idp_entity_id=long_id))
    assert response.status_code == 200
    assert "idp_entity_id" in response.context["form"].errors
    assert not SAMLConfig.objects.exists()


def test_onelogin_connector_named_as_in_the_readme(company_admin_client, keys):
    from django.conf import settings

    readme = " ".join((settings.BASE_DIR / "README.md").read_text().split())
    connector = "SCIM Provisioner with SAML (SCIM v2 Core)"
    assert connector in readme
    body = company_admin_client.get(PAGE).content.decode()
    assert connector in body
    assert "Custom Connector" not in body
    assert "Custom Connector" not in readme
