"""Offices & Numbers pages a company admin asked for: Area codes, an office with its people and
numbers; and the console's small comforts (empty states, the favicon)."""

import pytest
from django.test import Client
from django.urls import reverse

from offices.models import AreaCode
from tests.accounts.factories import UserFactory
from tests.apikeys.factories import make_api_key
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

AREA_CODES = reverse("area_codes")


@pytest.fixture
def sf(company):
    return OfficeFactory(company=company, name="San Francisco", is_main=True)


def test_area_codes_page_lists_codes_and_offices_with_free_numbers(
    company_admin_client, company, other_company, sf
):
    code, _ = AreaCode.objects.get_or_create(
        country="US", code="415", defaults={"region": "California"}
    )
    PhoneNumberFactory(company=company, office=sf, number="+14155550100", area_code=code)
    PhoneNumberFactory(company=company, office=sf, number="+14155550101", area_code=code)
    # Another company's free numbers in the same code are none of this admin's business.
    theirs = OfficeFactory(company=other_company, name="Globex HQ", is_main=True)
    PhoneNumberFactory(company=other_company, office=theirs, number="+14155550199", area_code=code)
    response = company_admin_client.get(AREA_CODES, {"q": "415"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Area codes</h1>" in body
    assert "San Francisco: 2 free" in body
    assert "Globex" not in body
    assert "United States" in body
    assert [row["code"].code for row in response.context["rows"]] == ["415"]
    assert (
        "No area code matches"
        in company_admin_client.get(AREA_CODES, {"q": "zzz"}).content.decode()
    )
    # The home page's Offices & Numbers section links to it.
    section = company_admin_client.get(reverse("admin:section", args=["offices"]))
    assert f'href="{AREA_CODES}"' in section.content.decode()


def test_area_codes_page_survives_odd_input(company_admin_client):
    assert company_admin_client.get(AREA_CODES, {"q": "\x00", "p": "nope"}).status_code == 200


def test_office_page_lists_its_people_and_numbers(company_admin_client, company, sf):
    ada = UserFactory(company=company, office=sf, email="ada@acme.example")
    PhoneNumberFactory(company=company, office=sf, number="+14155550123", assigned_user=ada)
    body = company_admin_client.get(
        reverse("admin:offices_office_change", args=[sf.pk])
    ).content.decode()
    assert "ada@acme.example" in body
    assert "+1 415-555-0123" in body or "+1 415 555 0123" in body
    assert "All 1 user in the Users list" in body
    assert "All 1 phone number in the Phone numbers list" in body


def test_api_keys_page_has_an_empty_state_then_the_list(company_admin_client, company):
    listing = reverse("admin:apikeys_apikey_changelist")
    assert 'id="api-keys-empty"' in company_admin_client.get(listing).content.decode()
    make_api_key(company)
    assert 'id="api-keys-empty"' not in company_admin_client.get(listing).content.decode()


def test_favicon_is_served_and_named_by_the_pages(company_admin_client):
    client = Client()  # signed out
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("switchboard/favicon.svg")
    assert 'rel="icon"' in company_admin_client.get(reverse("admin:index")).content.decode()
    assert 'rel="icon"' in client.get("/login/").content.decode()


def test_country_choices_are_proper_names(company_admin_client):
    form = company_admin_client.get(reverse("admin:offices_office_add"))
    choices = dict(form.context["adminform"].form.fields["country"].choices)
    assert choices["IM"] == "Isle of Man"
    assert choices["AC"] == "Ascension Island"
    assert choices["EH"] == "Western Sahara"
    assert not [name for name in choices.values() if "(+" in name]


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("admin:offices_office_changelist", "Offices"),
        ("admin:offices_phonenumber_changelist", "Phone numbers"),
        ("admin:accounts_user_changelist", "Users"),
        ("admin:accounts_licenseseats_changelist", "Licenses"),
    ],
)
def test_list_titles_are_the_lists_names(company_admin_client, name, title):
    body = company_admin_client.get(reverse(name)).content.decode()
    assert f"<h1>{title}</h1>" in body
    assert "to change" not in body
    assert "to view" not in body


def test_the_company_profile_is_a_page_not_a_one_row_list(company_admin_client, company):
    response = company_admin_client.get(reverse("admin:accounts_company_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_company_change", args=[company.pk])
    page = company_admin_client.get(response["Location"]).content.decode()
    assert "<h1>Company profile</h1>" in page


def test_area_codes_breadcrumbs_name_the_page(company_admin_client):
    body = company_admin_client.get(AREA_CODES).content.decode()
    crumbs = body.split('class="breadcrumbs"')[1].split("</div>")[0]
    assert "Offices &amp; Numbers" in crumbs
    assert "Area codes" in crumbs


def test_office_page_lists_people_once(company_admin_client, company, sf):
    UserFactory(company=company, office=sf, email="ada@acme.example")
    body = company_admin_client.get(
        reverse("admin:offices_office_change", args=[sf.pk])
    ).content.decode()
    assert body.count("ada@acme.example") == 1
