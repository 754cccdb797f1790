import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.audit import SYSTEM, Source
from accounts.models import AuditEvent, LicenseSeats, User
from offices import services
from offices.models import Office, PhoneNumber
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

ACT = {"actor": SYSTEM, "source": Source.CLI}
OFFICES = reverse("admin:offices_office_changelist")
NUMBERS = reverse("admin:offices_phonenumber_changelist")
IMPORT = reverse("admin:offices_phonenumber_import")


@pytest.fixture
def sf(company):
    return OfficeFactory(company=company, name="San Francisco", is_main=True)


@pytest.fixture
def ny(company):
    return OfficeFactory(company=company, name="New York", timezone="America/New_York")


def shown(response):
    return [obj.pk for obj in response.context["cl"].result_list]


def test_offices_section_lists_offices_and_numbers(company_admin_client):
    response = company_admin_client.get(reverse("admin:section", args=["offices"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Offices" in body
    assert "Phone numbers" in body


def test_office_list_counts_users_and_numbers_in_a_fixed_number_of_queries(
    company_admin_client, company, sf, ny, django_assert_max_num_queries
):
    UserFactory.create_batch(3, company=company, office=ny)
    for n in range(4):
        PhoneNumberFactory(company=company, office=ny, number=f"+1212555010{n}")
    OfficeFactory.create_batch(5, company=company)
    with django_assert_max_num_queries(12):
        response = company_admin_client.get(OFFICES)
    assert response.status_code == 200
    rows = {office.name: office for office in response.context["cl"].result_list}
    assert (rows["New York"].user_count, rows["New York"].number_count) == (3, 4)
    body = response.content.decode()
    assert f"?office__id__exact={ny.pk}" in body
    assert "4 (4 free)" in body
    # The links land on filtered lists.
    users = company_admin_client.get(
        reverse("admin:accounts_user_changelist"), {"office__id__exact": ny.pk}
    )
    assert len(shown(users)) == 3
    numbers = company_admin_client.get(NUMBERS, {"office__id__exact": ny.pk})
    assert len(shown(numbers)) == 4


def test_add_offices_through_the_form(company_admin_client, company):
    form = {"name": "San Francisco", "country": "US", "timezone": "America/Los_Angeles"}
    assert company_admin_client.post(reverse("admin:offices_office_add"), form).status_code == 302
    second = {"name": "London", "country": "GB", "timezone": "Europe/London", "is_main": "on"}
    assert company_admin_client.post(reverse("admin:offices_office_add"), second).status_code == 302
    offices = {office.name: office for office in Office.objects.filter(company=company)}
    assert offices["London"].is_main
    assert not offices["San Francisco"].is_main
    assert (
        AuditEvent.objects.filter(
            action="office.created", actor_user__email="admin@acme.example"
        ).count()
        == 2
    )


def test_office_form_errors_change_nothing(company_admin_client, company, sf):
    response = company_admin_client.post(
        reverse("admin:offices_office_add"),
        {"name": "SAN FRANCISCO", "country": "US", "timezone": "America/Los_Angeles"},
    )
    assert response.status_code == 200
    assert "already has an office called" in str(response.context["adminform"].form.errors["name"])
    # Unticking "main" is not how the main office changes.
    response = company_admin_client.post(
        reverse("admin:offices_office_change", args=[sf.pk]),
        {"name": "SF", "country": "US", "timezone": "America/Los_Angeles"},
    )
    assert response.status_code == 200
    assert "make another office the main office" in str(response.context["adminform"].form.errors)
    sf.refresh_from_db()
    assert sf.name == "San Francisco"
    assert sf.is_main


def test_delete_office_with_users_is_refused_with_the_reason(company_admin_client, company, sf, ny):
    UserFactory(company=company, office=ny)
    response = company_admin_client.post(
        reverse("admin:offices_office_delete", args=[ny.pk]), {"post": "yes"}, follow=True
    )
    assert "New York still has 1 user" in response.content.decode()
    assert Office.objects.filter(pk=ny.pk).exists()


def test_make_main_action(company_admin_client, sf, ny):
    company_admin_client.post(
        OFFICES, {"action": "make_main", "_selected_action": [ny.pk]}, follow=True
    )
    ny.refresh_from_db()
    sf.refresh_from_db()
    assert ny.is_main
    assert not sf.is_main


def test_number_list_filters_and_search(company_admin_client, company, other_company, sf, ny):
    holder = UserFactory(company=company, office=sf)
    a = PhoneNumberFactory(company=company, office=sf, number="+14155550100", assigned_user=holder)
    b = PhoneNumberFactory(company=company, office=ny, number="+12125550100")
    c = PhoneNumberFactory(company=company, office=None, number="+16505550100")
    theirs = OfficeFactory(company=other_company, name="Hidden Globex office")
    PhoneNumberFactory(company=other_company, office=theirs, number="+12125550199")

    everything = company_admin_client.get(NUMBERS)
    assert sorted(shown(everything)) == sorted([a.pk, b.pk, c.pk])
    body = everything.content.decode()
    assert "Hidden Globex office" not in body  # the office filter lists our offices only
    assert "Company reserve" in body
    assert "+1 415-555-0100" in body

    assert shown(company_admin_client.get(NUMBERS, {"office__id__exact": ny.pk})) == [b.pk]
    assert shown(company_admin_client.get(NUMBERS, {"office__id__exact": theirs.pk})) == []
    assert shown(company_admin_client.get(NUMBERS, {"office__isnull": "True"})) == [c.pk]
    assert shown(company_admin_client.get(NUMBERS, {"area_code": a.area_code_id})) == [a.pk]
    assert shown(company_admin_client.get(NUMBERS, {"area_code": "x"})) == []
    assert sorted(shown(company_admin_client.get(NUMBERS, {"status": "available"}))) == sorted(
        [b.pk, c.pk]
    )
    assert shown(company_admin_client.get(NUMBERS, {"status": "assigned"})) == [a.pk]
    assert shown(company_admin_client.get(NUMBERS, {"q": "(415) 555-0100"})) == [a.pk]
    assert shown(company_admin_client.get(NUMBERS, {"q": holder.email})) == [a.pk]
    assert shown(company_admin_client.get(NUMBERS, {"q": "5550199"})) == []


def test_number_search_by_an_email_with_digits_finds_that_person(company_admin_client, company, sf):
    holder = UserFactory(company=company, office=sf, email="agent7@acme.example")
    theirs = PhoneNumberFactory(
        company=company, office=sf, number="+14155550177", assigned_user=holder
    )
    PhoneNumberFactory(company=company, office=sf, number="+14155550170")

    assert shown(company_admin_client.get(NUMBERS, {"q": "agent7@acme.example"})) == [theirs.pk]
    assert shown(company_admin_client.get(NUMBERS, {"q": "+1 415-555-0177"})) == [theirs.pk]


def test_add_number_through_the_form(company_admin_client, company, other_company, ny):
    add = reverse("admin:offices_phonenumber_add")
    ok = company_admin_client.post(add, {"number": "212 555 0100", "office": ny.pk})
    assert ok.status_code == 302
    assert PhoneNumber.objects.get(company=company).number == "+12125550100"

    PhoneNumberFactory(company=other_company, number="+12125550199")
    for number, words in [
        ("+1 212", "is not a valid phone number"),
        ("+12125550199", "already belongs to another company"),
    ]:
        response = company_admin_client.post(add, {"number": number, "office": ny.pk})
        assert response.status_code == 200
        assert words in str(response.context["adminform"].form.errors["number"])
    assert PhoneNumber.objects.filter(company=company).count() == 1


def test_reassign_number_through_the_form_and_release_action(company_admin_client, company, sf):
    number = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    alice = UserFactory(company=company, office=sf, email="alice@acme.example")
    change = reverse("admin:offices_phonenumber_change", args=[number.pk])
    response = company_admin_client.post(change, {"office": sf.pk, "assigned_user": alice.pk})
    assert response.status_code == 302
    number.refresh_from_db()
    assert number.assigned_user == alice

    asked = company_admin_client.post(
        NUMBERS, {"action": "release", "_selected_action": [number.pk]}
    )
    # Nothing released yet: the page names the number and who loses it.
    number.refresh_from_db()
    assert number.assigned_user == alice
    page = asked.content.decode()
    assert "Release 1 number?" in page
    assert "+14155550100" in page
    assert "alice@acme.example" in page
    company_admin_client.post(
        NUMBERS,
        {"action": "release", "_selected_action": [number.pk], "confirm": "yes"},
        follow=True,
    )
    number.refresh_from_db()
    assert number.assigned_user is None
    assert AuditEvent.objects.filter(action="number.released", source="admin").exists()


def test_release_of_numbers_nobody_holds_asks_nothing(company_admin_client, company, sf):
    number = PhoneNumberFactory(company=company, office=sf, number="+14155550101")
    response = company_admin_client.post(
        NUMBERS, {"action": "release", "_selected_action": [number.pk]}, follow=True
    )
    assert "None of the selected numbers is held by a user." in response.content.decode()
    assert not AuditEvent.objects.filter(action="number.released").exists()


def test_number_cannot_be_assigned_to_another_companys_user(
    company_admin_client, company, other_company, sf
):
    number = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    stranger = UserFactory(company=other_company)
    change = reverse("admin:offices_phonenumber_change", args=[number.pk])
    response = company_admin_client.post(change, {"office": sf.pk, "assigned_user": stranger.pk})
    assert response.status_code == 200
    assert "assigned_user" in response.context["adminform"].form.errors
    number.refresh_from_db()
    assert number.assigned_user is None


def test_csv_import_page(company_admin_client, company, sf):
    page = company_admin_client.get(IMPORT)
    assert page.status_code == 200
    assert "Offices &amp; Numbers" in page.content.decode()
    assert company_admin_client.get(NUMBERS).content.decode().count(IMPORT) == 1

    good = SimpleUploadedFile(
        "numbers.csv", b"number,office\n+14155550100,San Francisco\n+14155550101,\n"
    )
    response = company_admin_client.post(IMPORT, {"csv_file": good}, follow=True)
    assert response.redirect_chain[-1][0] == NUMBERS
    assert "Imported 2 numbers." in response.content.decode()
    assert PhoneNumber.objects.filter(company=company).count() == 2


def test_csv_import_page_lists_bad_rows_and_imports_nothing(company_admin_client, company, sf):
    bad = SimpleUploadedFile(
        "numbers.csv", b"number,office\n+14155550102,San Francisco\nnope,\n+14155550103,Mars\n"
    )
    response = company_admin_client.post(IMPORT, {"csv_file": bad})
    assert response.status_code == 200
    assert response.context["errors"] == [
        (3, "'nope' is not a phone number. Use international format, like +14155550100."),
        (4, "there is no office called 'Mars'."),
    ]
    body = response.content.decode()
    assert "Nothing was imported: 2 rows with problems." in body
    assert "<td>3</td>" in body
    assert not PhoneNumber.objects.exists()


def test_csv_import_page_is_for_company_admins_only(client, member):
    client.force_login(member)
    response = client.get(IMPORT)
    assert response.status_code == 403
    assert "You don’t have access to this page" in response.content.decode()


def test_license_usage_on_my_company(company_admin_client, company):
    UserFactory.create_batch(2, company=company, license_type="talk")
    UserFactory(company=company, license_type="talk", status="suspended")
    response = company_admin_client.get(reverse("admin:accounts_licenseseats_changelist"))
    body = response.content.decode()
    assert "2 of 10" in body
    assert "?license_type__exact=talk&amp;status__exact=active" in body
    holders = company_admin_client.get(
        reverse("admin:accounts_user_changelist"),
        {"license_type__exact": "talk", "status__exact": "active"},
    )
    assert len(shown(holders)) == 2


def test_user_admin_sets_office_and_license_through_services(company_admin_client, company, sf):
    PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    user = UserFactory(company=company, email="new@acme.example")
    change = reverse("admin:accounts_user_change", args=[user.pk])
    form = {
        "email": user.email,
        "given_name": "New",
        "family_name": "Person",
        "title": "",
        "department": "",
        "role": "member",
        "office": sf.pk,
        "license_type": "talk",
        "scim_user_name": "",
        "external_id": "",
    }
    response = company_admin_client.post(change, form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.office == sf
    assert user.license_type == "talk"
    assert user.phone_number.number == "+14155550100"
    listing = company_admin_client.get(reverse("admin:accounts_user_changelist"))
    assert "+1 415-555-0100" in listing.content.decode()


def test_user_admin_refuses_a_license_with_no_free_seat(company_admin_client, company):
    LicenseSeats.objects.filter(company=company, license_type="sales").update(seats=0)
    user = UserFactory(company=company, email="new@acme.example", title="Before")
    change = reverse("admin:accounts_user_change", args=[user.pk])
    response = company_admin_client.post(
        change,
        {
            "email": user.email,
            "given_name": "",
            "family_name": "",
            "title": "After",
            "department": "",
            "role": "member",
            "license_type": "sales",
            "scim_user_name": "",
            "external_id": "",
        },
    )
    assert response.status_code == 200
    assert (
        "No free 'Sales' licenses: 0 of 0 in use"
        in (response.context["adminform"].form.errors["license_type"][0])
    )
    user.refresh_from_db()
    assert user.license_type == ""
    assert user.title == "Before"  # the whole save was refused


def test_users_needing_a_number_filter(company_admin_client, company, sf):
    waiting = UserFactory(company=company, office=sf, license_type="talk")
    services.assign_number(user=waiting, **ACT)  # the pool is empty
    UserFactory(company=company, office=sf)  # unlicensed: needs none
    response = company_admin_client.get(
        reverse("admin:accounts_user_changelist"), {"number": "needed"}
    )
    assert shown(response) == [waiting.pk]
    assert "Needs a number" in response.content.decode()
    assert User.objects.count() == 3


def test_bulk_delete_confirmation_lists_what_blocks_and_deletes_nothing(
    company_admin_client, company, sf, ny
):
    UserFactory(company=company, office=ny)
    for n in range(2):
        PhoneNumberFactory(company=company, office=ny, number=f"+1212555010{n}")
    empty = OfficeFactory(company=company, name="Boston")
    response = company_admin_client.post(
        OFFICES, {"action": "delete_selected", "_selected_action": [ny.pk, empty.pk]}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "can’t be deleted yet" in body
    assert "New York still has 1 user and 2 phone numbers. Move them to another office first." in (
        body
    )
    assert 'name="post"' not in body  # no way to confirm
    assert Office.objects.filter(pk__in=[ny.pk, empty.pk]).count() == 2


def confirmed_bulk_delete(client, changelist, ids) -> list[str]:
    """Post a confirmed "Delete selected"; the messages the list then shows (never a 500)."""
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_bulk_delete_confirmed_refusals_are_messages_not_500(company_admin_client, company, sf, ny):
    empty = OfficeFactory(company=company, name="Boston")
    # Confirmed while the page was open; meanwhile a user moved into New York.
    UserFactory(company=company, office=ny)
    shown_messages = confirmed_bulk_delete(company_admin_client, OFFICES, [ny.pk, empty.pk])
    assert "New York still has 1 user. Move them to another office first." in shown_messages
    assert "Deleted 1 office." in shown_messages
    assert Office.objects.filter(pk=ny.pk).exists()
    assert not Office.objects.filter(pk=empty.pk).exists()
    assert AuditEvent.objects.filter(action="office.deleted", target_id=str(empty.pk)).exists()


def test_bulk_delete_of_an_assigned_number_is_a_message(company_admin_client, company, sf):
    holder = UserFactory(company=company, office=sf, email="holder@acme.example")
    assigned = PhoneNumberFactory(company=company, office=sf, assigned_user=holder)
    free = PhoneNumberFactory(company=company, office=sf)
    confirm = company_admin_client.post(
        NUMBERS, {"action": "delete_selected", "_selected_action": [assigned.pk, free.pk]}
    )
    assert "is assigned to holder@acme.example. Release it first." in confirm.content.decode()
    shown_messages = confirmed_bulk_delete(company_admin_client, NUMBERS, [assigned.pk, free.pk])
    assert any("is assigned to holder@acme.example" in m for m in shown_messages)
    assert "Deleted 1 phone number." in shown_messages
    assert PhoneNumber.objects.filter(pk=assigned.pk).exists()
    assert not PhoneNumber.objects.filter(pk=free.pk).exists()


def test_single_delete_page_lists_the_blockers(company_admin_client, company, sf, ny):
    UserFactory(company=company, office=ny)
    response = company_admin_client.get(reverse("admin:offices_office_delete", args=[ny.pk]))
    body = response.content.decode()
    assert "can’t be deleted yet" in body
    assert "New York still has 1 user. Move them to another office first." in body
    empty = company_admin_client.get(reverse("admin:offices_office_delete", args=[sf.pk]))
    assert "San Francisco is the main office" in empty.content.decode()
