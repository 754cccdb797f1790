"""License, office and number consequences of SCIM user changes (through offices.services)."""

import pytest

from accounts.models import AuditEvent, LicenseSeats, User, UserStatus
from accounts.selectors import license_usage
from offices.models import PhoneNumber
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory
from tests.provisioning.test_scim_users import CORE, PATCH, SWITCHBOARD, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(company, main_office):
    """Two free numbers in HQ (415), one in the Austin office (512)."""
    austin = OfficeFactory(company=company, name="Austin", country="US", timezone="America/Chicago")
    return {
        "hq1": PhoneNumberFactory(company=company, office=main_office, number="+14155550101"),
        "hq2": PhoneNumberFactory(company=company, office=main_office, number="+16285550102"),
        "austin": PhoneNumberFactory(company=company, office=austin, number="+15125550103"),
        "austin_office": austin,
    }


def create(scim, user_name="ann@acme.example", **extra):
    return scim.post(
        "Users",
        {
            "schemas": [CORE, SWITCHBOARD],
            "userName": user_name,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            **extra,
        },
    )


def patch(scim, user_id, *operations):
    return scim.patch(f"Users/{user_id}", {"schemas": [PATCH], "Operations": list(operations)})


def number_of(user_id):
    return (
        PhoneNumber.objects.filter(assigned_user_id=user_id)
        .values_list("number", flat=True)
        .first()
    )


def test_create_assigns_main_office_talk_license_and_a_number(scim, company, main_office, pool):
    response = create(scim)
    assert response.status_code == 201, response.body
    user = User.objects.get(pk=response.body["id"])
    assert user.office == main_office
    assert user.license_type == "talk"
    assert number_of(user.pk) == "+14155550101"
    assert response.body["phoneNumbers"] == [
        {"value": "+14155550101", "type": "work", "primary": True}
    ]
    extension = response.body[SWITCHBOARD]
    assert extension["licenseType"] == "talk"
    assert extension["officeName"] == "HQ"
    assert "areaCode" not in extension  # none asked for
    assert "phoneNumber" not in extension  # returned "request": in phoneNumbers already
    asked = scim.get(f"Users/{user.pk}?attributes={SWITCHBOARD}:phoneNumber")
    assert asked.body[SWITCHBOARD] == {"phoneNumber": "+14155550101"}
    assert response.body["groups"][0]["display"] == "HQ"
    assert license_usage(company)["talk"].used == 1
    created = AuditEvent.objects.get(action="user.created", target_id=str(user.pk))
    assert created.after["license_type"] == "talk"
    assert created.after["office"] == "HQ"
    assert AuditEvent.objects.filter(action="number.assigned").count() == 1


def test_create_with_office_license_and_area_code(scim, pool):
    response = create(
        scim,
        **{SWITCHBOARD: {"licenseType": "sales", "officeName": "austin", "areaCode": "512"}},
    )
    assert response.status_code == 201, response.body
    user = User.objects.get(pk=response.body["id"])
    assert (user.office.name, user.license_type) == ("Austin", "sales")
    assert number_of(user.pk) == "+15125550103"


def test_create_with_a_free_work_number_of_the_pool_takes_it(scim, pool):
    response = create(scim, phoneNumbers=[{"value": "+1 628 555 0102", "type": "work"}])
    assert response.status_code == 201, response.body
    assert number_of(response.body["id"]) == "+16285550102"


def test_create_with_a_work_number_of_the_pool_held_by_someone_else_is_refused(scim, company, pool):
    holder = UserFactory(company=company, email="holder@acme.example")
    PhoneNumber.objects.filter(number="+15125550103").update(assigned_user=holder)
    response = create(scim, phoneNumbers=[{"value": "+15125550103", "type": "work"}])
    assert_error(response, 400, "invalidValue")
    assert "holder@acme.example" in response.body["detail"]
    assert not User.objects.filter(email="ann@acme.example").exists()
    assert PhoneNumber.objects.filter(assigned_user__isnull=False).count() == 1


@pytest.mark.parametrize("number", ["+1 212 555 0000", "6030824628", "ext. 42"])
def test_a_work_number_that_is_not_the_companys_is_profile_data(scim, pool, number):
    # What Entra and Okta send by default: the directory's desk phone as the work number.
    # It is read back as written; the user gets their line from the pool as usual.
    written = [{"value": number, "type": "work"}, {"value": "+1 555 0100", "type": "mobile"}]
    response = create(scim, phoneNumbers=written)
    assert response.status_code == 201, response.body
    user_id = response.body["id"]
    assert response.body["phoneNumbers"] == written
    assert scim.get(f"Users/{user_id}").body["phoneNumbers"] == written
    assert number_of(user_id) == "+14155550101"
    line = scim.get(f"Users/{user_id}?attributes={SWITCHBOARD}:phoneNumber").body[SWITCHBOARD]
    assert line == {"phoneNumber": "+14155550101"}


def test_create_without_a_free_seat_is_refused_naming_type_and_count(scim, company, pool):
    LicenseSeats.objects.filter(company=company, license_type="contact_center").update(seats=1)
    first = create(scim, "one@acme.example", licenseType="contact_center")
    assert first.status_code == 201, first.body
    events = AuditEvent.objects.exclude(action="scim.request_refused").count()
    response = create(scim, "two@acme.example", licenseType="contact_center")
    assert_error(response, 400, "invalidValue")
    assert (
        "Contact Center" in response.body["detail"] or "contact" in response.body["detail"].lower()
    )
    assert "1 of 1" in response.body["detail"]
    assert not User.objects.filter(email="two@acme.example").exists()
    assert AuditEvent.objects.exclude(action="scim.request_refused").count() == events
    refused = AuditEvent.objects.get(action="scim.request_refused")
    assert refused.after["detail"] == response.body["detail"]
    assert PhoneNumber.objects.filter(assigned_user__isnull=False).count() == 1


def test_create_in_an_unknown_office_is_refused(scim, pool):
    response = create(scim, officeName="Atlantis")
    assert_error(response, 400, "invalidValue")
    assert "Atlantis" in response.body["detail"]
    assert User.objects.count() == 0


def test_create_inactive_keeps_the_license_type_but_takes_no_seat_or_number(scim, company, pool):
    response = create(scim, active=False, licenseType="sales")
    assert response.status_code == 201, response.body
    user = User.objects.get(pk=response.body["id"])
    assert (user.status, user.license_type) == (UserStatus.SUSPENDED, "sales")
    assert number_of(user.pk) is None
    assert license_usage(company)["sales"].used == 0


def test_suspend_releases_number_and_seat_keeps_type_reactivate_claims_both(scim, company, pool):
    user_id = create(scim, licenseType="sales").body["id"]
    suspended = patch(scim, user_id, {"op": "replace", "path": "active", "value": False})
    assert suspended.status_code == 200, suspended.body
    user = User.objects.get(pk=user_id)
    assert (user.status, user.license_type) == (UserStatus.SUSPENDED, "sales")
    assert number_of(user_id) is None
    assert license_usage(company)["sales"].used == 0
    assert "phoneNumbers" not in suspended.body
    assert AuditEvent.objects.filter(action="number.released", company=company).count() == 1

    back = patch(scim, user_id, {"op": "replace", "path": "active", "value": True})
    assert back.status_code == 200, back.body
    user.refresh_from_db()
    assert (user.status, user.license_type) == (UserStatus.ACTIVE, "sales")
    assert number_of(user_id) is not None
    assert license_usage(company)["sales"].used == 1
    assert AuditEvent.objects.filter(action="user.reactivated", target_id=user_id).count() == 1


def test_reactivate_without_a_free_seat_is_refused_and_the_user_stays_suspended(
    scim, company, pool
):
    LicenseSeats.objects.filter(company=company, license_type="talk").update(seats=1)
    first = create(scim, "one@acme.example").body["id"]
    patch(scim, first, {"op": "replace", "path": "active", "value": False})
    create(scim, "two@acme.example")  # takes the seat the suspension freed
    response = patch(scim, first, {"op": "replace", "path": "active", "value": True})
    assert_error(response, 400, "invalidValue")
    assert "1 of 1" in response.body["detail"]
    user = User.objects.get(pk=first)
    assert user.status == UserStatus.SUSPENDED
    assert number_of(first) is None


def test_reactivate_with_another_license_type_claims_that_seat(scim, company, pool):
    LicenseSeats.objects.filter(company=company, license_type="talk").update(seats=1)
    user_id = create(scim).body["id"]
    patch(scim, user_id, {"op": "replace", "path": "active", "value": False})
    create(scim, "two@acme.example")  # talk is now full
    response = patch(
        scim,
        user_id,
        {"op": "replace", "value": {"active": True, f"{SWITCHBOARD}:licenseType": "sales"}},
    )
    assert response.status_code == 200, response.body
    assert User.objects.get(pk=user_id).license_type == "sales"
    assert license_usage(company)["sales"].used == 1


def test_license_change_switches_seats_or_is_refused(scim, company, pool):
    user_id = create(scim).body["id"]
    response = patch(
        scim, user_id, {"op": "replace", "path": f"{SWITCHBOARD}:licenseType", "value": "sales"}
    )
    assert response.status_code == 200, response.body
    assert response.body[SWITCHBOARD]["licenseType"] == "sales"
    usage = license_usage(company)
    assert (usage["talk"].used, usage["sales"].used) == (0, 1)
    LicenseSeats.objects.filter(company=company, license_type="contact_center").update(seats=0)
    refused = patch(
        scim,
        user_id,
        {"op": "replace", "path": f"{SWITCHBOARD}:licenseType", "value": "contact_center"},
    )
    assert_error(refused, 400, "invalidValue")
    assert "0 of 0" in refused.body["detail"]
    assert User.objects.get(pk=user_id).license_type == "sales"


def test_office_change_moves_the_user_and_their_number(scim, pool):
    user_id = create(scim).body["id"]
    response = patch(
        scim, user_id, {"op": "replace", "path": f"{SWITCHBOARD}:officeName", "value": "Austin"}
    )
    assert response.status_code == 200, response.body
    user = User.objects.get(pk=user_id)
    assert user.office.name == "Austin"
    assert number_of(user_id) == "+15125550103"
    assert response.body["groups"][0]["display"] == "Austin"


def test_writing_a_free_work_number_moves_the_user_to_it(scim, pool):
    user_id = create(scim).body["id"]
    response = patch(
        scim,
        user_id,
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+16285550102"},
    )
    assert response.status_code == 200, response.body
    assert number_of(user_id) == "+16285550102"
    assert PhoneNumber.objects.get(number="+14155550101").assigned_user_id is None


def test_writing_a_work_number_outside_the_pool_keeps_the_line(scim, pool):
    user_id = create(scim).body["id"]
    response = patch(
        scim,
        user_id,
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+12125550000"},
    )
    assert response.status_code == 200, response.body
    assert response.body["phoneNumbers"] == [{"value": "+12125550000", "type": "work"}]
    assert number_of(user_id) == "+14155550101"
    assert not AuditEvent.objects.filter(action="number.released").exists()


def test_other_phone_types_are_kept_as_profile_data(scim, pool):
    user_id = create(scim, phoneNumbers=[{"value": "+1 555 0100", "type": "mobile"}]).body["id"]
    user = User.objects.get(pk=user_id)
    assert user.phone_numbers == [{"value": "+1 555 0100", "type": "mobile"}]
    assert number_of(user_id) == "+14155550101"


def test_phone_numbers_read_back_as_written_and_default_to_the_line(scim, pool):
    user_id = create(scim).body["id"]
    line = [{"value": "+14155550101", "type": "work", "primary": True}]
    assert scim.get(f"Users/{user_id}").body["phoneNumbers"] == line  # nothing written yet
    # add: to what the client wrote (nothing), not to the line shown by default
    mobile = {"value": "+1 555 0100", "type": "mobile", "primary": True}
    added = patch(scim, user_id, {"op": "add", "path": "phoneNumbers", "value": [mobile]})
    assert added.body["phoneNumbers"] == [mobile]
    removed = patch(scim, user_id, {"op": "remove", "path": "phoneNumbers"})
    assert "phoneNumbers" not in removed.body
    assert User.objects.get(pk=user_id).phone_numbers == []
    body = scim.get(f"Users/{user_id}").body
    put = scim.put(f"Users/{user_id}", body | {"phoneNumbers": [mobile]})
    assert put.body["phoneNumbers"] == [mobile]
    # A PUT without phoneNumbers: back to the server's default, the line.
    body = {k: v for k, v in put.body.items() if k != "phoneNumbers"}
    assert scim.put(f"Users/{user_id}", body).body["phoneNumbers"] == line
    assert number_of(user_id) == "+14155550101"


def test_area_code_change_takes_a_number_there(scim, pool):
    user_id = create(scim).body["id"]
    response = patch(
        scim, user_id, {"op": "replace", "path": f"{SWITCHBOARD}:areaCode", "value": "628"}
    )
    assert response.status_code == 200, response.body
    assert number_of(user_id) == "+16285550102"


def test_delete_frees_license_and_number(scim, company, pool):
    user_id = create(scim).body["id"]
    assert scim.delete(f"Users/{user_id}").status_code == 204
    assert PhoneNumber.objects.get(number="+14155550101").assigned_user_id is None
    assert license_usage(company)["talk"].used == 0
    assert AuditEvent.objects.filter(action="license.released", target_id=user_id).exists()
    assert AuditEvent.objects.filter(action="number.released").exists()


def test_no_free_number_still_creates_the_user_flagged(scim, company, main_office):
    response = create(scim)
    assert response.status_code == 201, response.body
    assert number_of(response.body["id"]) is None
    assert AuditEvent.objects.filter(action="number.none_free").exists()


def test_schema_lists_the_companys_offices_and_area_codes(scim, client, pool):
    body = scim.get(f"Schemas/{SWITCHBOARD}").body
    attributes = {a["name"]: a for a in body["attributes"]}
    assert attributes["officeName"]["canonicalValues"] == ["Austin", "HQ"]
    assert attributes["areaCode"]["canonicalValues"] == ["415", "512", "628"]
    config = scim.get("ServiceProviderConfig").body
    assert config["documentationUri"].endswith("/scim/")
    page = client.get("/scim/")
    assert page.status_code == 200
    assert "PATCH operations per request:  100" in page.content.decode()


def test_onelogin_template_puts_suspend_and_restore_with_the_custom_attributes(scim, pool):
    """OneLogin's JSON template sends licenseType/officeName/areaCode on EVERY PUT, the
    suspending one included; resending them unchanged must never block a suspension."""
    template = {
        "schemas": [CORE],
        "userName": "ann@acme.example",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": {"value": "ann@acme.example", "primary": "true"},
        "licenseType": "talk",
        "officeName": "HQ",
        "areaCode": "415",
    }
    created = scim.post("Users", {**template, "active": "true"})
    assert created.status_code == 201, created.body
    user_id = created.body["id"]
    assert number_of(user_id) == "+14155550101"

    for _ in range(2):  # suspend, then the same body again (a re-sync)
        suspended = scim.put(f"Users/{user_id}", {**template, "active": "false"})
        assert suspended.status_code == 200, suspended.body
        assert suspended.body["active"] is False
        assert User.objects.get(pk=user_id).status == UserStatus.SUSPENDED
        assert number_of(user_id) is None

    restored = scim.put(f"Users/{user_id}", {**template, "active": "true"})
    assert restored.status_code == 200, restored.body
    assert restored.body["active"] is True
    assert number_of(user_id) == "+14155550101"


# --- areaCode: the area code the client asked for, kept on the user ---


def test_area_code_written_while_suspended_is_kept_and_used_on_reactivation(scim, pool):
    user_id = create(scim, active=False).body["id"]
    response = patch(
        scim, user_id, {"op": "replace", "path": f"{SWITCHBOARD}:areaCode", "value": "628"}
    )
    assert response.status_code == 200, response.body
    assert response.body[SWITCHBOARD]["areaCode"] == "628"
    assert number_of(user_id) is None  # a suspended user holds no number
    assert scim.get(f"Users/{user_id}").body[SWITCHBOARD]["areaCode"] == "628"
    found = scim.get(f'Users?filter={SWITCHBOARD}:areaCode eq "628"')
    assert [r["id"] for r in found.body["Resources"]] == [user_id]

    reactivated = patch(scim, user_id, {"op": "replace", "path": "active", "value": True})
    assert reactivated.status_code == 200, reactivated.body
    assert number_of(user_id) == "+16285550102"


def test_an_unknown_area_code_is_refused_for_a_suspended_user_too(scim, pool):
    user_id = create(scim, active=False).body["id"]
    response = patch(
        scim, user_id, {"op": "replace", "path": f"{SWITCHBOARD}:areaCode", "value": "999"}
    )
    assert_error(response, 400, "invalidValue")
    assert "no area code 999" in response.body["detail"]
    assert User.objects.get(pk=user_id).preferred_area_code == ""


def test_removing_the_area_code_keeps_the_number(scim, pool):
    user_id = create(scim, **{SWITCHBOARD: {"areaCode": "628"}}).body["id"]
    assert number_of(user_id) == "+16285550102"
    response = patch(scim, user_id, {"op": "remove", "path": f"{SWITCHBOARD}:areaCode"})
    assert response.status_code == 200, response.body
    assert "areaCode" not in response.body[SWITCHBOARD]
    assert User.objects.get(pk=user_id).preferred_area_code == ""
    assert number_of(user_id) == "+16285550102"


def test_a_put_without_the_area_code_clears_it_and_keeps_the_number(scim, pool):
    body = create(scim, **{SWITCHBOARD: {"areaCode": "628"}}).body
    body.pop(SWITCHBOARD)
    response = scim.put(f"Users/{body['id']}", body)
    assert response.status_code == 200, response.body
    assert "areaCode" not in response.body[SWITCHBOARD]
    assert response.body[SWITCHBOARD]["licenseType"] == "talk"  # required: kept
    assert number_of(body["id"]) == "+16285550102"


# --- what a client cannot take away by leaving it out ---


@pytest.mark.parametrize("active", [True, False])
def test_a_put_without_active_leaves_it_as_it_is(scim, pool, active):
    body = create(scim, active=active).body
    del body["active"]
    body["title"] = "Lead"
    response = scim.put(f"Users/{body['id']}", body)
    assert response.status_code == 200, response.body
    assert response.body["active"] is active
    status = User.objects.get(pk=body["id"]).status
    assert status == (UserStatus.ACTIVE if active else UserStatus.SUSPENDED)


MOBILE = {"value": "+1 555 0100", "type": "mobile"}


@pytest.mark.parametrize(
    ("operation", "left"),
    [
        ({"op": "remove", "path": "phoneNumbers"}, []),
        ({"op": "remove", "path": 'phoneNumbers[type eq "work"]'}, [MOBILE]),
        (
            {"op": "replace", "path": "phoneNumbers", "value": [{"value": "5", "type": "home"}]},
            [{"value": "5", "type": "home"}],
        ),
    ],
)
def test_the_assigned_work_number_is_never_released_by_a_phone_numbers_write(
    scim, pool, operation, left
):
    # The work number is the user's line from the company's pool: it goes with suspension or
    # deletion, never because a client's phoneNumbers lack it (they read back as written).
    work = {"value": "+16285550102", "type": "work"}
    user_id = create(scim, phoneNumbers=[work, MOBILE]).body["id"]
    assert number_of(user_id) == "+16285550102"
    response = patch(scim, user_id, operation)
    assert response.status_code == 200, response.body
    assert response.body.get("phoneNumbers", []) == left
    assert number_of(user_id) == "+16285550102"


def test_every_write_answers_what_a_read_right_after_answers(scim, pool):
    """Writes render the row the services wrote (no second read): body and ETag must be what a
    GET returns, whatever the write changed — office, manager, number, status."""

    def same_as_read(response, status=200):
        assert response.status_code == status, response.body
        read = scim.get(f"Users/{response.body['id']}")
        assert response.body == read.body
        assert response["ETag"] == read["ETag"]

    manager_id = create(scim, "boss@acme.example").body["id"]
    created = create(
        scim,
        externalId="ol-1",
        phoneNumbers=[{"value": "+1 555 0100", "type": "mobile"}],
        **{SWITCHBOARD: {"officeName": "Austin", "licenseType": "sales"}},
    )
    same_as_read(created, 201)
    user_id = created.body["id"]
    manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
    for operation in (
        {"op": "replace", "path": "name.familyName", "value": "Renamed"},
        {"op": "replace", "path": manager, "value": {"value": manager_id}},
        {"op": "replace", "path": f"{SWITCHBOARD}:officeName", "value": "HQ"},
        {"op": "replace", "path": f"{SWITCHBOARD}:areaCode", "value": "628"},
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": "active", "value": True},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+15125550103"},
    ):
        same_as_read(patch(scim, user_id, operation))
    same_as_read(create(scim, "later@acme.example", active=False), 201)
    same_as_read(create(scim, "nonumber@acme.example"), 201)  # the pool is empty by now


def test_every_read_renders_what_a_write_compares_against(scim, pool):
    """GET by id, a filtered page and .search read rows in one raw query
    (provisioning/scim/selectors.py); a write renders the user it loaded. Same body, same ETag:
    an If-Match taken from any read passes."""
    manager = create(scim, "boss@acme.example").body
    user = create(
        scim,
        externalId="ol-7",
        title="Engineer",
        phoneNumbers=[{"value": "+1 628 555 0102", "type": "work"}, {"value": "+1 555 0199"}],
        **{
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "R&D",
                "manager": {"value": manager["id"]},
            },
            SWITCHBOARD: {"officeName": "Austin"},
        },
    ).body
    got = scim.get(f"Users/{user['id']}")
    listed = scim.get('Users?filter=externalId eq "ol-7"').body["Resources"]
    searched = scim.post(
        "Users/.search",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 1},
    ).body["Resources"]
    assert got.body == user == listed[0]
    assert searched[0] == manager
    reports_to = got.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]
    assert reports_to["value"] == manager["id"]
    assert reports_to["$ref"] == manager["meta"]["location"]
    assert got.body["groups"][0]["display"] == "Austin"
    assert got.body["phoneNumbers"] == [
        {"value": "+1 628 555 0102", "type": "work"},
        {"value": "+1 555 0199"},
    ]
    assert number_of(user["id"]) == "+16285550102"
    changed = scim.patch(
        f"Users/{user['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Lead"}]},
        HTTP_IF_MATCH=got["ETag"],
    )
    assert changed.status_code == 200, changed.body


def test_any_advertised_office_with_any_advertised_area_code_is_accepted(
    scim, company, main_office, pool
):
    """Discovery lists every office and every area code of the company's numbers; any pairing
    is a 201. An area code of another country than the office's gives a number of the office
    (numbers stay in their country) and is kept for when the user moves there."""
    london = OfficeFactory(company=company, name="London", country="GB", timezone="Europe/London")
    PhoneNumberFactory(company=company, office=london, number="+442079460001")
    schema = scim.get(f"Schemas/{SWITCHBOARD}").body
    advertised = {a["name"]: a.get("canonicalValues") for a in schema["attributes"]}
    assert "London" in advertised["officeName"]
    assert {"20", "415"} <= set(advertised["areaCode"])

    def create_in(user_name, office, area_code):
        return create(
            scim, user_name, **{SWITCHBOARD: {"officeName": office, "areaCode": area_code}}
        )

    in_london = create_in("ldn@acme.example", "London", "415")
    assert in_london.status_code == 201, in_london.body
    assert number_of(in_london.body["id"]) == "+442079460001"
    assert in_london.body[SWITCHBOARD]["areaCode"] == "415"
    in_hq = create_in("hq@acme.example", "HQ", "20")
    assert in_hq.status_code == 201, in_hq.body
    assert number_of(in_hq.body["id"]) == "+14155550101"
    # No number left in London: the user needs one; the area code asked for is kept.
    short = create_in("ldn2@acme.example", "London", "512")
    assert short.status_code == 201, short.body
    assert number_of(short.body["id"]) is None
    assert User.objects.get(pk=short.body["id"]).preferred_area_code == "512"
    # Moved to an office of the area code's country, the London user gets a 415 number there,
    # though another of HQ's numbers comes first.
    PhoneNumberFactory(company=company, office=main_office, number="+14155550199")
    PhoneNumberFactory(company=company, office=main_office, number="+12135550100")
    moved = patch(
        scim,
        in_london.body["id"],
        {"op": "replace", "path": f"{SWITCHBOARD}:officeName", "value": "HQ"},
    )
    assert moved.status_code == 200, moved.body
    assert number_of(in_london.body["id"]) == "+14155550199"
    # One that is neither of the office's country nor of the company's numbers is refused.
    assert_error(create_in("x@acme.example", "London", "999"), 400, "invalidValue")
