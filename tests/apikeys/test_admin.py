import html as html_lib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.audit import Source
from accounts.models import AuditEvent
from apikeys.models import APIKey
from apikeys.services import AuthenticationFailed, authenticate, revoke_api_key
from tests.accounts.factories import CompanyAdminFactory, UserFactory
from tests.apikeys.factories import make_api_key

pytestmark = pytest.mark.django_db

LIST = reverse("admin:apikeys_apikey_changelist")
ADD = reverse("admin:apikeys_apikey_add")
KEY = re.compile(r"sbk_[a-z0-9]{12}_[A-Za-z0-9]{43}")
BREADCRUMBS = re.compile(r'<div class="breadcrumbs">(.*?)</div>', re.S)


def revoke_url(api_key):
    return reverse("admin:apikeys_apikey_revoke", args=[api_key.pk])


def breadcrumb_text(response):
    html = BREADCRUMBS.search(response.content.decode()).group(1)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", html)).split())


def add_form(**fields):
    return {"name": "OneLogin", "expires_on": "", "scopes": ["scim"], **fields}


def test_the_path_from_admin_settings_home_to_api_keys(company_admin_client):
    home = company_admin_client.get(reverse("admin:index")).content.decode()
    section_url = reverse("admin:section", args=["my-company"])
    assert f'href="{section_url}"' in home
    my_company = company_admin_client.get(section_url).content.decode()
    auth_url = reverse("admin:section", args=["authentication"])
    assert f'href="{auth_url}"' in my_company
    authentication = company_admin_client.get(auth_url)
    assert breadcrumb_text(authentication) == "Admin Settings › My Company › Authentication"
    assert f'href="{LIST}"' in authentication.content.decode()
    assert "API Keys" in authentication.content.decode()

    listing = company_admin_client.get(LIST)
    assert listing.status_code == 200
    assert breadcrumb_text(listing) == "Admin Settings › My Company › Authentication › API Keys"
    assert "Add a Key" in listing.content.decode()
    assert f'href="{ADD}"' in listing.content.decode()


def test_list_shows_own_keys_with_their_facts(company_admin_client, company, company_admin):
    from apikeys.services import create_api_key

    active, raw_key = create_api_key(
        company=company,
        name="OneLogin",
        actor=company_admin,
        source="admin",
        expires_at=timezone.now() + timedelta(days=30),
    )
    authenticate(raw_key=raw_key, client_ip="198.51.100.23")
    revoked, _ = make_api_key(company, name="Old Okta key")
    company_admin_client.post(revoke_url(revoked))

    response = company_admin_client.get(LIST)
    body = response.content.decode()
    assert [key.pk for key in response.context["cl"].result_list] == [revoked.pk, active.pk]
    for text in (
        "OneLogin",
        f"{active.prefix}…",
        "scim",
        "admin@acme.example",
        "198.51.100.23",
        "Active",
        "Revoked",
        "Old Okta key",
    ):
        assert text in body, text
    assert raw_key not in body
    assert raw_key.split("_")[2] not in body
    # Only the active key offers Revoke.
    assert revoke_url(active) in body
    assert revoke_url(revoked) not in body


def test_add_a_key_shows_it_once_and_it_works(company_admin_client, company, company_admin):
    form = company_admin_client.get(ADD)
    assert form.status_code == 200
    assert breadcrumb_text(form) == (
        "Admin Settings › My Company › Authentication › API Keys › Add a Key"
    )
    assert 'type="date"' in form.content.decode()

    posted = company_admin_client.post(ADD, add_form(name="OneLogin provisioning"))
    # POST → redirect → GET: a reload of the page that shows the key makes no second key.
    api_key = APIKey.objects.get(company=company)
    created_url = reverse("admin:apikeys_apikey_created", args=[api_key.pk])
    assert posted.status_code == 302
    assert posted["Location"] == created_url
    assert KEY.search(posted.content.decode()) is None
    response = company_admin_client.get(created_url)
    assert response.status_code == 200
    body = response.content.decode()
    shown = KEY.findall(body)
    assert len(set(shown)) == 1
    raw_key = shown[0]
    assert "It will not be shown again" in body
    assert 'id="api-key-copy"' in body
    assert "apikeys/copy_key.js" in body
    assert "/scim/v2/" in body
    assert "no-store" in response["Cache-Control"]

    assert api_key.name == "OneLogin provisioning"
    assert api_key.created_by == company_admin
    assert api_key.expires_at is None
    assert authenticate(raw_key=raw_key, client_ip="198.51.100.1") == api_key
    assert AuditEvent.objects.filter(
        action="api_key.created", actor_user=company_admin, source="admin"
    ).exists()

    # Nowhere else does the key appear again: not in the list, not in a message.
    listing = company_admin_client.get(LIST).content.decode()
    assert raw_key not in listing
    assert raw_key.split("_")[2] not in listing
    # A reload of the key's page says it was shown, and shows it no more.
    again = company_admin_client.get(created_url)
    assert again.status_code == 200
    assert "was already shown" in again.content.decode()
    assert KEY.search(again.content.decode()) is None
    assert APIKey.objects.filter(company=company).count() == 1


def test_add_with_expiry_and_scopes(company_admin_client, company):
    day = (timezone.now() + timedelta(days=10)).date()
    response = company_admin_client.post(
        ADD, add_form(expires_on=day.isoformat(), scopes=["scim", "api:read"]), follow=True
    )
    assert response.status_code == 200
    api_key = APIKey.objects.get(company=company)
    assert api_key.expires_at.date() == day
    assert api_key.expires_at.hour == 0
    assert api_key.scopes == ["scim", "api:read"]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 101}, "name", "at most 100 characters"),
        ({"expires_on": "2001-01-01"}, "expires_on", "cannot expire in the past"),
        ({"expires_on": "today"}, "expires_on", "Enter a valid date"),
        ({"scopes": []}, "scopes", "required"),
        ({"scopes": ["root"]}, "scopes", "Select a valid choice"),
    ],
)
def test_bad_input_is_a_form_error_and_creates_nothing(company_admin_client, fields, field, words):
    response = company_admin_client.post(ADD, add_form(**fields))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in str(errors[field])
    assert not KEY.search(response.content.decode())
    assert not APIKey.objects.exists()
    assert not AuditEvent.objects.filter(action="api_key.created").exists()


def test_expiry_today_is_refused(company_admin_client):
    today = timezone.now().date().isoformat()
    response = company_admin_client.post(ADD, add_form(expires_on=today))
    assert "cannot expire in the past" in str(response.context["adminform"].form.errors)
    assert not APIKey.objects.exists()


def test_revoke_with_confirmation(company_admin_client, company, company_admin):
    api_key, raw_key = make_api_key(company)
    confirm = company_admin_client.get(revoke_url(api_key))
    assert confirm.status_code == 200
    assert breadcrumb_text(confirm) == (
        "Admin Settings › My Company › Authentication › API Keys › Revoke"
    )
    assert "Yes, revoke the key" in confirm.content.decode()
    # Looking at the confirmation changes nothing.
    assert APIKey.objects.get(pk=api_key.pk).revoked_at is None

    response = company_admin_client.post(revoke_url(api_key), follow=True)
    assert response.redirect_chain[-1][0] == LIST
    assert "is revoked" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key.revoked_by == company_admin
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key=raw_key, client_ip="198.51.100.1")
    assert AuditEvent.objects.filter(action="api_key.revoked", actor_user=company_admin).exists()


def test_revoking_twice_gives_a_clear_message(company_admin_client, company):
    api_key, _ = make_api_key(company)
    company_admin_client.post(revoke_url(api_key))
    revoked_at = APIKey.objects.get(pk=api_key.pk).revoked_at

    again = company_admin_client.get(revoke_url(api_key)).content.decode()
    assert "was already revoked" in again
    assert "Yes, revoke" not in again
    response = company_admin_client.post(revoke_url(api_key), follow=True)
    assert response.status_code == 200
    assert "was already revoked" in response.content.decode()
    assert APIKey.objects.get(pk=api_key.pk).revoked_at == revoked_at
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_keys_are_never_edited_or_deleted(company_admin_client, company):
    api_key, _ = make_api_key(company, name="OneLogin")
    change = reverse("admin:apikeys_apikey_change", args=[api_key.pk])
    response = company_admin_client.post(change, {"name": "renamed"})
    assert response.status_code == 403
    delete = reverse("admin:apikeys_apikey_delete", args=[api_key.pk])
    assert company_admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert APIKey.objects.get(pk=api_key.pk).name == "OneLogin"
    # Its read-only page never shows the hash.
    page = company_admin_client.get(change).content.decode()
    assert api_key.secret_hash not in page
    assert "OneLogin" in page


@pytest.mark.parametrize("who", ["member", "approver"])
def test_only_company_admins_may(client, company, who):
    person = UserFactory(company=company, is_approver=(who == "approver"))
    client.force_login(person)
    api_key, _ = make_api_key(company)
    for url in (LIST, ADD, revoke_url(api_key)):
        assert client.get(url).status_code == 403  # the no-access page, not a sign-in loop
    assert client.post(ADD, add_form()).status_code == 403
    assert client.post(revoke_url(api_key)).status_code == 403
    assert APIKey.objects.count() == 1
    assert APIKey.objects.get().revoked_at is None


def test_another_companys_key_is_a_404_everywhere(company_admin_client, other_company):
    theirs, raw_key = make_api_key(other_company, name="Globex OneLogin")
    listing = company_admin_client.get(LIST)
    assert theirs.pk not in [key.pk for key in listing.context["cl"].result_list]
    assert "Globex OneLogin" not in listing.content.decode()
    found = company_admin_client.get(LIST, {"q": theirs.prefix})
    assert not found.context["cl"].result_list
    assert company_admin_client.get(revoke_url(theirs)).status_code == 404
    assert company_admin_client.post(revoke_url(theirs)).status_code == 404
    for bogus in ("999999", "abc", "1%20OR%201=1"):
        assert company_admin_client.get(f"{LIST}{bogus}/revoke/").status_code == 404
    assert APIKey.objects.get(pk=theirs.pk).revoked_at is None
    assert authenticate(raw_key=raw_key, client_ip="198.51.100.1") == theirs


def test_no_list_filter_reads_a_keys_hash(company_admin_client, company):
    """`?secret_hash__startswith=` on the key list narrowed the list to the key whose stored hash
    began so: the hash, read a character at a time. Keys are filtered by nothing but search."""
    api_key, _ = make_api_key(company, name="OneLogin")
    for lookup, value in (
        ("secret_hash__startswith", api_key.secret_hash[:8]),
        ("prefix__startswith", api_key.prefix[:6]),
        ("scopes__contains", '["scim"]'),
    ):
        assert company_admin_client.get(LIST, {lookup: value}).status_code == 400, lookup


def test_admin_of_the_other_company_sees_only_their_own(client, company, other_company):
    make_api_key(company, name="Acme key")
    theirs, _ = make_api_key(other_company, name="Globex key")
    client.force_login(CompanyAdminFactory(company=other_company, email="boss@globex.example"))
    shown = [key.pk for key in client.get(LIST).context["cl"].result_list]
    assert shown == [theirs.pk]
    response = client.post(ADD, add_form(name="Globex new"), follow=True)
    assert response.status_code == 200
    assert APIKey.objects.get(name="Globex new").company == other_company


def test_platform_operator_chooses_the_company(client, company, django_user_model):
    operator = django_user_model.objects.create_superuser(
        email="ops@switchboard.example", password="x-long-password-1"
    )
    client.force_login(operator)
    response = client.post(ADD, add_form(company=company.pk, name="Seeded by ops"), follow=True)
    assert response.status_code == 200
    assert KEY.search(response.content.decode())
    assert APIKey.objects.get(name="Seeded by ops").company == company
    assert "Acme" in client.get(LIST).content.decode()


def test_the_session_alone_cannot_show_the_key(company_admin_client, company):
    """The session (in the database) holds the key only XOR-ed with a pad kept in a cookie."""
    posted = company_admin_client.post(ADD, add_form(name="OneLogin"))
    stored = company_admin_client.session["api_key_once"]
    assert "sbk_" not in str(stored)
    company_admin_client.cookies.pop("api_key_once")
    response = company_admin_client.get(posted["Location"])
    assert "was already shown" in response.content.decode()
    assert KEY.search(response.content.decode()) is None


def test_another_keys_page_does_not_show_the_new_key(company_admin_client, company):
    older, _ = make_api_key(company, name="Older")
    posted = company_admin_client.post(ADD, add_form(name="New"))
    response = company_admin_client.get(reverse("admin:apikeys_apikey_created", args=[older.pk]))
    assert KEY.search(response.content.decode()) is None
    # Looking at the wrong page spent the hand-over: the new key is not shown later either.
    assert KEY.search(company_admin_client.get(posted["Location"]).content.decode()) is None


def test_key_names_are_unique_among_a_companys_working_keys(
    company_admin_client, company, company_admin, other_company
):
    make_api_key(company, name="OneLogin provisioning")
    make_api_key(other_company, name="Second")  # another company's names are theirs
    response = company_admin_client.post(ADD, add_form(name="onelogin PROVISIONING"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "A working key is already called “onelogin PROVISIONING”" in str(errors["name"])
    assert APIKey.objects.filter(company=company).count() == 1
    assert company_admin_client.post(ADD, add_form(name="Second")).status_code == 302
    # A revoked key's name is free again.
    first = APIKey.objects.get(company=company, name="OneLogin provisioning")
    revoke_api_key(api_key=first, actor=company_admin, source=Source.ADMIN)
    assert company_admin_client.post(ADD, add_form(name="OneLogin provisioning")).status_code == 302
