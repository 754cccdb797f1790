import pytest
from django.db import IntegrityError, transaction

from accounts.audit import SYSTEM, Source
from accounts.errors import Conflict, DomainError, NotFound
from accounts.models import AuditEvent, LicenseSeats, User, UserStatus
from accounts.selectors import license_usage
from offices import services
from offices.models import AreaCode, Office, PhoneNumber
from offices.selectors import needs_number, users_needing_number, with_counts
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

ACT = {"actor": SYSTEM, "source": Source.CLI}


def actions():
    return list(AuditEvent.objects.values_list("action", flat=True).order_by("id"))


@pytest.fixture
def sf(company):
    return services.create_office(
        company=company, name="San Francisco", country="US", timezone="America/Los_Angeles", **ACT
    )


@pytest.fixture
def ny(company, sf):
    return services.create_office(
        company=company, name="New York", country="US", timezone="America/New_York", **ACT
    )


@pytest.fixture
def london(company, sf):
    return services.create_office(
        company=company, name="London", country="GB", timezone="Europe/London", **ACT
    )


def licensed(company, office=None, email=None, license_type="talk"):
    return UserFactory(
        company=company,
        office=office,
        license_type=license_type,
        **({"email": email} if email else {}),
    )


# --- reference data ---


def test_north_american_area_codes_are_loaded_from_the_library():
    codes = AreaCode.objects.filter(country__in=["US", "CA"])
    assert codes.count() > 300
    assert AreaCode.objects.get(country="US", code="415").region == "California"
    assert AreaCode.objects.get(country="US", code="212").region == "New York, NY"
    assert AreaCode.objects.get(country="CA", code="416").region
    assert services.find_area_code("US", "212").code == "212"
    assert services.find_area_code("us", "999") is None


# --- offices ---


def test_first_office_is_main_and_audited(company, sf):
    assert sf.is_main
    assert sf.country == "US"
    event = AuditEvent.objects.get(action="office.created")
    assert event.company == company
    assert event.after == {
        "name": "San Francisco",
        "country": "US",
        "timezone": "America/Los_Angeles",
        "is_main": True,
    }


def test_second_office_is_not_main_unless_asked(company, sf, ny):
    assert not ny.is_main
    tokyo = services.create_office(
        company=company, name="Tokyo", country="jp", timezone="Asia/Tokyo", is_main=True, **ACT
    )
    assert tokyo.is_main
    assert tokyo.country == "JP"
    assert list(Office.objects.filter(company=company, is_main=True)) == [tokyo]


def test_set_main_office_moves_the_flag(company, sf, ny):
    services.set_main_office(office=ny, **ACT)
    assert list(Office.objects.filter(company=company, is_main=True)) == [ny]
    event = AuditEvent.objects.get(action="office.main_changed")
    assert event.before == {"main_office": "San Francisco"}
    assert event.after == {"main_office": "New York"}


def test_database_refuses_two_main_offices(company, sf):
    with pytest.raises(IntegrityError), transaction.atomic():
        OfficeFactory(company=company, name="Rogue", is_main=True)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"name": "  "}, "name", "needs a name"),
        ({"name": "x" * 257}, "name", "1–256"),
        ({"country": "XX"}, "country", "not a country code"),
        ({"country": "USA"}, "country", "ISO 3166"),
        ({"timezone": "Mars/Olympus"}, "timezone", "not a time zone"),
        ({"timezone": ""}, "timezone", "IANA"),
        ({"name": "san francisco"}, "name", "already has an office called"),
    ],
)
def test_create_office_refuses_bad_input(company, sf, kwargs, field, words):
    before = actions()
    arguments = {"name": "Paris", "country": "FR", "timezone": "Europe/Paris", **kwargs}
    with pytest.raises(DomainError) as caught:
        services.create_office(company=company, **arguments, **ACT)
    assert caught.value.field == field
    assert words in caught.value.message
    assert Office.objects.filter(company=company).count() == 1
    assert actions() == before


def test_same_office_name_in_another_company_is_fine(company, other_company, sf):
    other = services.create_office(
        company=other_company, name="San Francisco", country="US", timezone="UTC", **ACT
    )
    assert other.is_main


def test_rename_and_update_office(company, sf, ny):
    services.rename_office(office=ny, name="  New   York City ", **ACT)
    ny.refresh_from_db()
    assert ny.name == "New York City"
    with pytest.raises(Conflict):
        services.rename_office(office=ny, name="SAN FRANCISCO", **ACT)
    event = AuditEvent.objects.filter(action="office.updated").get()
    assert event.before == {"name": "New York"}
    assert event.after == {"name": "New York City"}
    services.update_office(office=ny, timezone="America/Chicago", **ACT)
    ny.refresh_from_db()
    assert ny.timezone == "America/Chicago"


def test_office_with_numbers_keeps_its_country(company, ny):
    services.add_number(company=company, number="+12125550100", office=ny, **ACT)
    with pytest.raises(DomainError, match="holds 1 phone number") as caught:
        services.update_office(office=ny, country="CA", **ACT)
    assert caught.value.field == "country"
    ny.refresh_from_db()
    assert ny.country == "US"


def test_delete_office_refused_while_it_has_users_or_numbers(company, sf, ny):
    user = UserFactory(company=company, office=ny)
    services.add_number(company=company, number="+12125550100", office=ny, **ACT)
    with pytest.raises(DomainError) as caught:
        services.delete_office(office=ny, **ACT)
    assert caught.value.message == (
        "New York still has 1 user and 1 phone number. Move them to another office first."
    )
    assert Office.objects.filter(pk=ny.pk).exists()
    services.move_user_to_office(user=user, office=sf, **ACT)
    services.remove_number(phone_number=PhoneNumber.objects.get(number="+12125550100"), **ACT)
    services.delete_office(office=ny, **ACT)
    assert not Office.objects.filter(pk=ny.pk).exists()
    assert AuditEvent.objects.filter(action="office.deleted", target_id=str(ny.pk)).exists()


def test_main_office_cannot_be_deleted_while_others_exist(company, sf, ny):
    with pytest.raises(DomainError, match="is the main office"):
        services.delete_office(office=sf, **ACT)
    services.delete_office(office=ny, **ACT)
    services.delete_office(office=sf, **ACT)  # the last office may go
    assert not Office.objects.filter(company=company).exists()


def test_office_lookup_by_name_is_case_insensitive_and_per_company(company, other_company, ny):
    assert services.get_office_by_name(company=company, name="new york") == ny
    assert services.get_office_by_name(company=other_company, name="New York") is None
    assert services.get_office_by_name(company=company, name="") is None


def test_office_counts_are_annotated(company, sf, ny):
    UserFactory.create_batch(2, company=company, office=ny)
    PhoneNumberFactory(company=company, office=ny, number="+12125550100")
    PhoneNumberFactory(company=company, office=ny, number="+12125550101")
    PhoneNumberFactory(company=company, office=ny, number="+12125550102")
    counts = {o.name: (o.user_count, o.number_count) for o in with_counts(Office.objects.all())}
    assert counts == {"San Francisco": (0, 0), "New York": (2, 3)}


# --- licenses ---


def test_assign_license_counts_and_switching_frees_the_old_seat(company, member):
    LicenseSeats.objects.filter(company=company, license_type="sales").update(seats=1)
    user = services.assign_license(user=member, license_type="talk", **ACT)
    assert user.license_type == "talk"
    usage = license_usage(company)
    assert usage["talk"] == (1, 10)
    services.assign_license(user=member, license_type="talk", **ACT)  # no-op
    assert actions().count("license.assigned") == 1
    services.assign_license(user=member, license_type="sales", **ACT)
    usage = license_usage(company)
    assert usage["talk"].used == 0
    assert usage["sales"] == (1, 1)
    assert usage["sales"].free == 0
    event = AuditEvent.objects.filter(action="license.assigned").order_by("id").last()
    assert event.before == {"license_type": "talk"}
    assert event.after == {"license_type": "sales"}


def test_no_free_seat_is_a_clear_error_and_nothing_changes(company, member):
    LicenseSeats.objects.filter(company=company, license_type="talk").update(seats=1)
    licensed(company)
    before = actions()
    with pytest.raises(DomainError) as caught:
        services.assign_license(user=member, license_type="talk", **ACT)
    assert caught.value.message == (
        "No free 'Talk' licenses: 1 of 1 in use. Free a seat by suspending a user who no longer "
        "needs it, or ask your account manager for more seats."
    )
    assert caught.value.code == "no_free_seats"
    assert caught.value.field == "license_type"
    member.refresh_from_db()
    assert member.license_type == ""
    assert actions() == before


def test_zero_seats_refuses_every_assignment(company, member):
    LicenseSeats.objects.filter(company=company, license_type="contact_center").update(seats=0)
    with pytest.raises(DomainError, match="0 of 0 in use"):
        services.assign_license(user=member, license_type="contact_center", **ACT)


def test_unknown_license_type_is_refused(member):
    with pytest.raises(DomainError) as caught:
        services.assign_license(user=member, license_type="platinum", **ACT)
    assert caught.value.field == "license_type"
    assert "Unknown license type 'platinum'" in caught.value.message
    member.refresh_from_db()
    assert member.license_type == ""


def test_suspended_users_take_no_seat_and_reclaim_it_on_return(company):
    LicenseSeats.objects.filter(company=company, license_type="talk").update(seats=1)
    away = licensed(company)
    User.objects.filter(pk=away.pk).update(status=UserStatus.SUSPENDED)
    assert license_usage(company)["talk"] == (0, 1)
    newcomer = services.assign_license(
        user=UserFactory(company=company), license_type="talk", **ACT
    )
    assert newcomer.license_type == "talk"
    # Back from suspension: the seat is claimed again, and there is none left.
    User.objects.filter(pk=away.pk).update(status=UserStatus.ACTIVE)
    with pytest.raises(DomainError, match="No free 'Talk' licenses"):
        services.assign_license(user=away, license_type="talk", **ACT)


def test_release_license_frees_the_seat(company, member):
    services.assign_license(user=member, license_type="talk", **ACT)
    user = services.release_license(user=member, **ACT)
    assert user.license_type == ""
    assert license_usage(company)["talk"].used == 0
    services.release_license(user=member, **ACT)  # nothing to release: no event
    assert actions().count("license.released") == 1


def test_seat_count_cannot_drop_below_holders(company, member):
    from accounts.services import set_license_seats

    services.assign_license(user=member, license_type="talk", **ACT)
    with pytest.raises(DomainError, match="cannot go below 1"):
        set_license_seats(company=company, license_type="talk", seats=0, **ACT)


# --- numbers ---


def test_assign_number_prefers_area_code_then_office_then_reserve(company, sf, ny):
    office_415 = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    office_other = PhoneNumberFactory(company=company, office=sf, number="+16505550100")
    reserve = PhoneNumberFactory(company=company, office=None, number="+12125550100")
    PhoneNumberFactory(company=company, office=ny, number="+12125550101")  # another office's

    first = services.assign_number(user=licensed(company, sf), area_code="415", **ACT)
    assert first == office_415
    second = services.assign_number(user=licensed(company, sf), area_code="415", **ACT)
    assert second == office_other  # no 415 left in the office: any number of the office
    third = services.assign_number(user=licensed(company, sf), **ACT)
    assert third == reserve  # the office is empty: the company reserve
    fourth_user = licensed(company, sf)
    assert services.assign_number(user=fourth_user, **ACT) is None
    assert list(users_needing_number(company)) == [fourth_user]
    assert needs_number(fourth_user)
    event = AuditEvent.objects.filter(action="number.none_free").get()
    assert event.target_id == str(fourth_user.pk)
    assert event.after == {"office": "San Francisco", "area_code": None}
    assigned = AuditEvent.objects.filter(action="number.assigned").order_by("id").first()
    assert assigned.after == {"number": "+14155550100", "user": first.assigned_user.email}


def test_reserve_numbers_of_the_requested_area_code_come_first(company, sf):
    PhoneNumberFactory(company=company, office=None, number="+14155550100")
    wanted = PhoneNumberFactory(company=company, office=None, number="+16505550100")
    assert services.assign_number(user=licensed(company, sf), area_code="650", **ACT) == wanted


def test_reserve_numbers_stay_in_their_country(company, london):
    PhoneNumberFactory(company=company, office=None, number="+14155550100")
    uk = PhoneNumberFactory(company=company, office=None, number="+442079460001")
    assert services.assign_number(user=licensed(company, london), **ACT) == uk
    assert services.assign_number(user=licensed(company, london), **ACT) is None


def test_user_keeps_their_number_and_switches_area_code_only_when_one_is_free(company, sf):
    mine = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    PhoneNumberFactory(company=company, office=sf, number="+14155550101")
    user = licensed(company, sf)
    assert services.assign_number(user=user, **ACT) == mine
    assert services.assign_number(user=user, **ACT) == mine  # already has one
    assert services.assign_number(user=user, area_code="650", **ACT) == mine  # none free in 650
    other = PhoneNumberFactory(company=company, office=sf, number="+16505550100")
    assert services.assign_number(user=user, area_code="650", **ACT) == other
    mine.refresh_from_db()
    assert mine.assigned_user is None
    assert PhoneNumber.objects.filter(assigned_user=user).count() == 1


@pytest.mark.parametrize(
    ("area_code", "error", "words"),
    [
        ("999", NotFound, "There is no area code 999 in United States"),
        ("4x5", DomainError, "is not an area code"),
        ("  ", None, None),
    ],
)
def test_assign_number_with_bad_area_code(company, sf, area_code, error, words):
    PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    user = licensed(company, sf)
    if error is None:  # blank means "no preference"
        assert services.assign_number(user=user, area_code=area_code, **ACT) is not None
        return
    with pytest.raises(error) as caught:
        services.assign_number(user=user, area_code=area_code, **ACT)
    assert caught.value.field == "area_code"
    assert words in caught.value.message
    assert not PhoneNumber.objects.filter(assigned_user__isnull=False).exists()
    assert not AuditEvent.objects.filter(action__startswith="number.").exists()


def test_assign_number_never_uses_another_companys_pool(company, other_company, sf):
    PhoneNumberFactory(company=other_company, number="+14155550100")
    assert services.assign_number(user=licensed(company, sf), **ACT) is None


def test_database_allows_one_number_per_user_and_one_user_per_number(company, member):
    number = PhoneNumberFactory(company=company, number="+14155550100", assigned_user=member)
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumberFactory(company=company, number="+14155550101", assigned_user=member)
    assert number.status == "assigned"


def test_database_refuses_a_number_that_is_not_e164(company):
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.create(company=company, number="415-555-0100", country="US")


def test_assign_specific_number(company, other_company, sf):
    PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    target = PhoneNumberFactory(company=company, office=sf, number="+14155550101")
    PhoneNumberFactory(company=other_company, number="+14155550199")
    user = licensed(company, sf)
    services.assign_number(user=user, **ACT)
    assert services.assign_specific_number(user=user, number="+1 415-555-0101", **ACT) == target
    assert PhoneNumber.objects.get(number="+14155550100").assigned_user is None
    # Again: it is already theirs.
    assert services.assign_specific_number(user=user, number="+14155550101", **ACT) == target


@pytest.mark.parametrize(
    ("number", "error", "words"),
    [
        ("not a number", DomainError, "is not a phone number"),
        ("+1415555", DomainError, "is not a valid phone number"),
        ("4155550100", DomainError, "is not a phone number"),  # national: no country to read it in
        ("+14155550199", DomainError, "is not one of Acme's numbers"),  # another company's
        ("+14155550142", DomainError, "is not one of Acme's numbers"),  # nobody's
        ("+14155550101", Conflict, "is assigned to taken@acme.example"),
    ],
)
def test_assign_specific_number_refusals(company, other_company, sf, number, error, words):
    PhoneNumberFactory(company=other_company, number="+14155550199")
    taken = licensed(company, sf, email="taken@acme.example")
    PhoneNumberFactory(company=company, office=sf, number="+14155550101", assigned_user=taken)
    mine = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    user = licensed(company, sf)
    services.assign_specific_number(user=user, number=mine.number, **ACT)
    before = actions()
    with pytest.raises(error) as caught:
        services.assign_specific_number(user=user, number=number, **ACT)
    assert words in caught.value.message
    assert caught.value.field == "number"
    mine.refresh_from_db()
    assert mine.assigned_user == user
    assert actions() == before


def test_release_number(company, sf):
    number = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    user = licensed(company, sf)
    services.assign_number(user=user, **ACT)
    assert services.release_number(user=user, **ACT) == number
    number.refresh_from_db()
    assert number.assigned_user is None
    assert number.status == "available"
    assert services.release_number(user=user, **ACT) is None
    assert actions().count("number.released") == 1


def test_deleting_a_user_returns_the_number_to_the_pool(company, sf, member):
    number = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    services.assign_specific_number(user=member, number=number.number, **ACT)
    member.delete()
    number.refresh_from_db()
    assert number.assigned_user is None


# --- moving users ---


def test_move_user_takes_a_number_in_the_new_office_keeping_the_area_code(company, sf, ny):
    old = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    PhoneNumberFactory(company=company, office=ny, number="+12125550100")
    same_code = PhoneNumberFactory(company=company, office=ny, number="+14155550150")
    user = licensed(company, sf)
    services.assign_number(user=user, **ACT)

    moved = services.move_user_to_office(user=user, office=ny, **ACT)
    assert moved.office == ny
    old.refresh_from_db()
    assert old.assigned_user is None
    assert old.office == sf
    same_code.refresh_from_db()
    assert same_code.assigned_user == user
    event = AuditEvent.objects.get(action="user.office_changed")
    assert event.before == {"office": "San Francisco"}
    assert event.after == {"office": "New York"}


def test_move_user_falls_back_to_any_number_of_the_new_office(company, sf, ny):
    PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    nyc = PhoneNumberFactory(company=company, office=ny, number="+12125550100")
    user = licensed(company, sf)
    services.assign_number(user=user, **ACT)
    services.move_user_to_office(user=user, office=ny, **ACT)
    nyc.refresh_from_db()
    assert nyc.assigned_user == user


def test_move_user_keeps_a_reserve_number(company, sf, ny):
    reserve = PhoneNumberFactory(company=company, office=None, number="+14155550100")
    PhoneNumberFactory(company=company, office=ny, number="+12125550100")
    user = licensed(company, sf)
    services.assign_number(user=user, **ACT)
    services.move_user_to_office(user=user, office=ny, **ACT)
    reserve.refresh_from_db()
    assert reserve.assigned_user == user


def test_move_user_to_the_same_office_changes_nothing(company, sf):
    user = licensed(company, sf)
    services.move_user_to_office(user=user, office=sf, **ACT)
    assert not AuditEvent.objects.filter(action="user.office_changed").exists()


def test_move_user_to_another_companys_office_is_refused(company, other_company, sf):
    theirs = services.create_office(
        company=other_company, name="Globex HQ", country="US", timezone="UTC", **ACT
    )
    number = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    user = licensed(company, sf)
    services.assign_number(user=user, **ACT)
    before = actions()
    with pytest.raises(NotFound) as caught:
        services.move_user_to_office(user=user, office=theirs, **ACT)
    assert caught.value.field == "office"
    assert "Globex" not in caught.value.message
    user.refresh_from_db()
    number.refresh_from_db()
    assert user.office == sf
    assert number.assigned_user == user
    assert actions() == before


# --- adding numbers one by one ---


def test_add_number_to_office_and_reserve(company, london):
    row = services.add_number(company=company, number="020 7946 0001", office=london, **ACT)
    assert row.number == "+442079460001"
    assert row.area_code.code == "20"
    assert row.area_code.region == "London"
    assert row.formatted == "+44 20 7946 0001"
    reserve = services.add_number(company=company, number="+14155550100", **ACT)
    assert reserve.office is None
    assert reserve.area_code == AreaCode.objects.get(country="US", code="415")


def test_a_number_of_a_known_area_code_is_added_without_the_geocoder(company, monkeypatch):
    """Its region's name is in the AreaCode table: the geocoder's data (~100 MiB a process) is
    loaded only for an area code the table lacks."""

    def geocoder(*args):
        raise AssertionError("the geocoder was asked")

    monkeypatch.setattr("offices.phone._region_name_of", geocoder)
    monkeypatch.setattr("offices.phone._REGION_NAMES", {})
    row = services.add_number(company=company, number="+14155550100", **ACT)
    assert row.area_code.region == "California"


@pytest.mark.parametrize(
    ("number", "office_name", "error", "words"),
    [
        ("+1415", None, DomainError, "is not a valid phone number"),
        ("+14155550100", "London", DomainError, "is a number of United States"),
        ("+14155550199", None, Conflict, "already belongs to another company"),
        ("+14155550142", None, Conflict, "already belongs to your company"),
    ],
)
def test_add_number_refusals(company, other_company, london, number, office_name, error, words):
    PhoneNumberFactory(company=other_company, number="+14155550199")
    PhoneNumberFactory(company=company, number="+14155550142")
    before = PhoneNumber.objects.count()
    office = london if office_name else None
    with pytest.raises(error, match=words):
        services.add_number(company=company, number=number, office=office, **ACT)
    assert PhoneNumber.objects.count() == before


def test_reassign_and_move_numbers(company, sf, ny):
    number = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    alice = licensed(company, sf)
    bob = licensed(company, sf)
    services.reassign_number(phone_number=number, user=alice, **ACT)
    services.reassign_number(phone_number=number, user=bob, **ACT)
    number.refresh_from_db()
    assert number.assigned_user == bob
    assert needs_number(alice)
    services.set_number_office(phone_number=number, office=None, **ACT)
    number.refresh_from_db()
    assert number.office is None
    assert number.assigned_user == bob
    with pytest.raises(DomainError, match="is assigned to"):
        services.remove_number(phone_number=number, **ACT)
    services.reassign_number(phone_number=number, user=None, **ACT)
    services.remove_number(phone_number=number, **ACT)
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()


def test_numbers_never_cross_companies(company, other_company, sf):
    number = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    stranger = UserFactory(company=other_company)
    with pytest.raises(NotFound):
        services.reassign_number(phone_number=number, user=stranger, **ACT)
    theirs = services.create_office(
        company=other_company, name="Elsewhere", country="US", timezone="UTC", **ACT
    )
    with pytest.raises(NotFound):
        services.set_number_office(phone_number=number, office=theirs, **ACT)
    number.refresh_from_db()
    assert number.assigned_user is None
    assert number.office == sf


def test_a_claimed_number_is_complete_with_its_area_code(company, sf, django_assert_num_queries):
    PhoneNumberFactory(company=company, office=sf, number="+16505550100")
    wanted = PhoneNumberFactory(company=company, office=sf, number="+14155550100")
    PhoneNumberFactory(company=company, office=None, number="+14155550101")  # reserve comes last
    user = licensed(company, sf)
    area_code = services.find_area_code("US", "415")
    with django_assert_num_queries(1):
        claimed = services._claim_free_number(user, preferred=area_code, preferred_only=True)
        assert claimed.area_code.code == "415"  # loaded with the number
    stored = PhoneNumber.objects.get(pk=wanted.pk)
    for field in PhoneNumber._meta.concrete_fields:
        assert getattr(claimed, field.attname) == getattr(stored, field.attname), field.name
    reserve_only = licensed(company, None)  # no office: the reserve, of any country
    assert services._claim_free_number(reserve_only, preferred=None).number == "+14155550101"


def test_main_office_is_read_whole_or_none(company, other_company, sf, ny):
    from offices.selectors import main_office

    found = main_office(company.pk)
    assert found == sf
    stored = Office.objects.get(pk=sf.pk)
    for field in Office._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(stored, field.attname), field.name
    assert main_office(other_company.pk) is None
