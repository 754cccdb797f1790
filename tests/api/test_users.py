"""/api/v1/users: list, filters, search, cursor pages, retrieve with ETag, and the actions."""

import pytest

from accounts.audit import SYSTEM, Source, record_audit
from accounts.models import AuditEvent, LicenseSeats, ManagedBy, User, UserStatus
from offices import services as office_services
from offices.models import PhoneNumber
from sso.models import SAMLConfig
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offices(company):
    main = OfficeFactory(company=company, name="San Francisco", is_main=True)
    other = OfficeFactory(company=company, name="New York", timezone="America/New_York")
    return main, other


def seat(user, *, office=None, license_type="talk", area_code=None):
    """A user set up through the services, as the admin would."""
    if office is not None:
        office_services.move_user_to_office(user=user, office=office, actor=SYSTEM, source="cli")
    office_services.assign_license(user=user, license_type=license_type, actor=SYSTEM, source="cli")
    office_services.assign_number(user=user, area_code=area_code, actor=SYSTEM, source="cli")
    return User.objects.get(pk=user.pk)


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_list_shows_the_company_users_with_office_number_and_license(api, company, offices):
    main, _ = offices
    PhoneNumberFactory(company=company, office=main, number="+14155550100")
    ada = seat(UserFactory(company=company, email="ada@acme.example"), office=main)

    body = api.get("/api/v1/users/").json()

    row = next(row for row in body["results"] if row["id"] == ada.pk)
    assert row["email"] == "ada@acme.example"
    assert row["office"] == {"id": main.pk, "name": "San Francisco"}
    assert row["phone_number"] == "+14155550100"
    assert row["license_type"] == "talk"
    assert row["needs_number"] is False
    assert row["managed_by"] == "manual"
    assert body["next"] is None


def test_filters_narrow_the_list(api, company, offices):
    main, new_york = offices
    PhoneNumberFactory(company=company, office=main, number="+14155550100")
    with_number = seat(UserFactory(company=company, email="n@acme.example"), office=main)
    without = seat(UserFactory(company=company, email="w@acme.example"), office=new_york)
    sales = seat(
        UserFactory(company=company, email="s@acme.example", given_name="Grace"),
        office=new_york,
        license_type="sales",
    )
    suspended = UserFactory(company=company, status=UserStatus.SUSPENDED, email="x@acme.example")
    scim = UserFactory(company=company, managed_by=ManagedBy.SCIM, email="scim@acme.example")

    assert ids(api.get(f"/api/v1/users/?office={main.pk}")) == [with_number.pk]
    assert set(ids(api.get(f"/api/v1/users/?office={new_york.pk}"))) == {without.pk, sales.pk}
    assert ids(api.get("/api/v1/users/?license_type=sales")) == [sales.pk]
    assert ids(api.get("/api/v1/users/?status=suspended")) == [suspended.pk]
    assert ids(api.get("/api/v1/users/?managed_by=scim")) == [scim.pk]
    assert set(ids(api.get("/api/v1/users/?needs_number=true"))) == {without.pk, sales.pk}
    assert with_number.pk in ids(api.get("/api/v1/users/?needs_number=false"))
    assert ids(api.get("/api/v1/users/?search=grace s@acme")) == [sales.pk]
    assert suspended.pk in ids(api.get("/api/v1/users/?license_type=none"))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=blue", "colour"),
        ("status=gone", "status"),
        ("needs_number=maybe", "needs_number"),
        ("office=abc", "office"),
        ("office=99999999999999999999", "office"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("status=active&status=suspended", "status"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=cD1hYmM%3D", "cursor"),  # base64 of "p=abc": a position that is no id
        ("cursor=!!!", "cursor"),  # no base64 at all (DRF's decoding read it as no cursor)
        ("cursor=cD0x!", "cursor"),  # "p=1" with a character base64 has no use for
        ("cursor=eD0x", "cursor"),  # base64 of "x=1": no key DRF writes
        ("cursor=cD0xJnA9Mg%3D%3D", "cursor"),  # "p=1&p=2": a key twice
    ],
)
def test_bad_query_is_a_400_naming_the_parameter(api, company, query, field):
    response = api.get(f"/api/v1/users/?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"] in ("invalid", "invalid_cursor")
    assert error["message"]


def test_another_companys_office_as_a_filter_is_refused(api, other_company):
    foreign = OfficeFactory(company=other_company)
    response = api.get(f"/api/v1/users/?office={foreign.pk}")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": f"No office with id {foreign.pk}.",
        "field": "office",
    }


def test_cursor_pages_walk_every_user_once(api, company):
    made = {UserFactory(company=company).pk for _ in range(7)}
    seen, url, pages = [], "/api/v1/users/?page_size=3", 0
    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert sorted(seen) == sorted(made)
    assert pages == 3


def test_retrieve_has_an_etag_and_answers_304_until_the_user_changes(api, company, offices):
    _, new_york = offices
    user = UserFactory(company=company)
    first = api.get(f"/api/v1/users/{user.pk}/")
    etag = first.headers["ETag"]
    assert first.json()["id"] == user.pk

    again = api.get(f"/api/v1/users/{user.pk}/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag

    office_services.move_user_to_office(user=user, office=new_york, actor=SYSTEM, source="cli")
    changed = api.get(f"/api/v1/users/{user.pk}/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_move_to_office_moves_the_user_and_their_number_and_is_audited_as_the_key(
    api, company, offices
):
    main, new_york = offices
    PhoneNumberFactory(company=company, office=main, number="+14155550100")
    PhoneNumberFactory(company=company, office=new_york, number="+12125550100")
    user = seat(UserFactory(company=company, email="mover@acme.example"), office=main)

    response = api.post(
        f"/api/v1/users/{user.pk}/move_to_office", {"office": new_york.pk}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["office"] == {"id": new_york.pk, "name": "New York"}
    assert response.json()["phone_number"] == "+12125550100"
    user.refresh_from_db()
    assert user.office_id == new_york.pk
    event = AuditEvent.objects.get(
        action="user.office_changed", target_id=str(user.pk), source=Source.API
    )
    assert event.actor_kind == "api_key"
    assert api.api_key.prefix in event.actor_label
    assert event.before == {"office": "San Francisco"}
    assert event.after == {"office": "New York"}
    assert event.request_id == response.headers["X-Request-ID"]
    assert event.client_ip == "127.0.0.1"


def test_move_to_another_companys_office_is_a_404_and_changes_nothing(
    api, company, other_company, offices
):
    main, _ = offices
    user = seat(UserFactory(company=company), office=main)
    foreign = OfficeFactory(company=other_company)
    events = AuditEvent.objects.count()

    response = api.post(
        f"/api/v1/users/{user.pk}/move_to_office", {"office": foreign.pk}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "office"
    user.refresh_from_db()
    assert user.office_id == main.pk
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "body",
    [
        [],
        "office",
        {},
        {"office": "New York"},
        {"office": -1},
        {"office": 1, "extra": True},
        {"office": None},
    ],
)
def test_a_body_of_the_wrong_shape_is_a_400_and_changes_nothing(api, company, offices, body):
    main, _ = offices
    user = seat(UserFactory(company=company), office=main)
    events = AuditEvent.objects.count()
    response = api.post(f"/api/v1/users/{user.pk}/move_to_office", body, format="json")
    assert response.status_code == 400, response.json()
    assert set(response.json()["error"]) == {"code", "message", "field"}
    user.refresh_from_db()
    assert user.office_id == main.pk
    assert AuditEvent.objects.count() == events


def test_malformed_json_and_other_media_types_get_the_error_shape(api, company, offices):
    user = UserFactory(company=company)
    url = f"/api/v1/users/{user.pk}/move_to_office"
    broken = api.post(url, "{office: 1", content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "parse_error"
    form = api.post(url, "office=1", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    wrong_method = api.delete(f"/api/v1/users/{user.pk}/")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_change_license_claims_a_seat_and_refuses_when_none_is_free(api, company, offices):
    main, _ = offices
    user = seat(UserFactory(company=company), office=main)
    LicenseSeats.objects.filter(company=company, license_type="sales").update(seats=1)

    ok = api.post(
        f"/api/v1/users/{user.pk}/change_license", {"license_type": "sales"}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["license_type"] == "sales"

    other = seat(UserFactory(company=company), office=main)
    full = api.post(
        f"/api/v1/users/{other.pk}/change_license", {"license_type": "sales"}, format="json"
    )
    assert full.status_code == 409
    assert full.json()["error"]["code"] == "no_free_seats"
    assert full.json()["error"]["field"] == "license_type"
    assert "1 of 1" in full.json()["error"]["message"]
    other.refresh_from_db()
    assert other.license_type == "talk"


def test_assign_number_by_area_code_and_409_when_none_is_free(api, company, offices):
    main, _ = offices
    PhoneNumberFactory(company=company, office=main, number="+14155550100")
    PhoneNumberFactory(company=company, office=main, number="+16505550100")
    user = seat(UserFactory(company=company), office=main, area_code="415")

    moved = api.post(f"/api/v1/users/{user.pk}/assign_number", {"area_code": "650"}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["phone_number"] == "+16505550100"

    none_free = api.post(
        f"/api/v1/users/{user.pk}/assign_number", {"area_code": "212"}, format="json"
    )
    assert none_free.status_code == 409
    assert none_free.json()["error"]["code"] == "no_free_numbers"
    assert "keeps +1 650" in none_free.json()["error"]["message"]
    assert PhoneNumber.objects.get(assigned_user=user).number == "+16505550100"

    exact = api.post(
        f"/api/v1/users/{user.pk}/assign_number", {"number": "+14155550100"}, format="json"
    )
    assert exact.status_code == 200
    assert exact.json()["phone_number"] == "+14155550100"


def test_assign_number_when_the_pool_is_empty_is_a_409(api, company, offices):
    main, _ = offices
    user = seat(UserFactory(company=company), office=main)
    response = api.post(f"/api/v1/users/{user.pk}/assign_number", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_free_numbers"


# --- users the identity provider manages ---


@pytest.fixture
def onelogin(company):
    return SAMLConfig.objects.create(
        company=company,
        idp_entity_id="https://app.onelogin.com/saml/metadata/123",
        idp_sso_url="https://acme.onelogin.com/trust/saml2/http-post/sso/123",
        idp_certificate="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    )


def test_office_of_a_scim_user_is_the_companys_until_the_idp_sends_it(
    api, company, offices, onelogin
):
    main, new_york = offices
    user = UserFactory(company=company, managed_by=ManagedBy.SCIM)
    first = api.post(
        f"/api/v1/users/{user.pk}/move_to_office", {"office": new_york.pk}, format="json"
    )
    assert first.status_code == 200

    # OneLogin then pushes an officeName for the user (a SCIM update, another request).
    record_audit(
        actor=SYSTEM,
        source=Source.SCIM,
        action="user.office_changed",
        company=company,
        target=user,
        before={"office": "New York"},
        after={"office": "San Francisco"},
    )
    refused = api.post(
        f"/api/v1/users/{user.pk}/move_to_office", {"office": main.pk}, format="json"
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "idp_owned"
    assert error["field"] == "office"
    assert "OneLogin" in error["message"]
    user.refresh_from_db()
    assert user.office_id == new_york.pk


# --- suspend and reactivate ---


def test_suspend_frees_license_and_number_and_reactivate_gives_them_back(api, company, offices):
    main, _ = offices
    PhoneNumberFactory(company=company, office=main, number="+14155550100")
    user = seat(UserFactory(company=company), office=main, license_type="sales")

    suspended = api.post(f"/api/v1/users/{user.pk}/suspend")
    assert suspended.status_code == 200, suspended.json()
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["phone_number"] is None
    assert not PhoneNumber.objects.filter(assigned_user=user).exists()
    assert AuditEvent.objects.filter(
        action="user.suspended", target_id=str(user.pk), source=Source.API, actor_kind="api_key"
    ).exists()

    back = api.post(f"/api/v1/users/{user.pk}/reactivate", {}, format="json")
    assert back.status_code == 200, back.json()
    assert back.json()["status"] == "active"
    assert back.json()["license_type"] == "sales"
    assert back.json()["phone_number"] == "+14155550100"


def test_reactivate_without_a_free_seat_is_a_409_and_the_user_stays_suspended(
    api, company, offices
):
    main, _ = offices
    user = seat(UserFactory(company=company), office=main, license_type="sales")
    api.post(f"/api/v1/users/{user.pk}/suspend")
    LicenseSeats.objects.filter(company=company, license_type="sales").update(seats=0)

    response = api.post(f"/api/v1/users/{user.pk}/reactivate")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_free_seats"
    user.refresh_from_db()
    assert user.status == UserStatus.SUSPENDED


def test_suspend_takes_no_body(api, company):
    user = UserFactory(company=company)
    response = api.post(f"/api/v1/users/{user.pk}/suspend", {"now": True}, format="json")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.status == UserStatus.ACTIVE


def test_the_last_active_company_admin_cannot_be_suspended(api, company, company_admin):
    response = api.post(f"/api/v1/users/{company_admin.pk}/suspend")
    assert response.status_code == 409
    assert "only active company admin" in response.json()["error"]["message"]
    company_admin.refresh_from_db()
    assert company_admin.status == UserStatus.ACTIVE


@pytest.mark.parametrize("verb", ["suspend", "reactivate"])
def test_whether_a_scim_user_is_active_belongs_to_the_idp(api, company, onelogin, verb):
    status = UserStatus.ACTIVE if verb == "suspend" else UserStatus.SUSPENDED
    user = UserFactory(company=company, managed_by=ManagedBy.SCIM, status=status)
    events = AuditEvent.objects.count()

    response = api.post(f"/api/v1/users/{user.pk}/{verb}")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "idp_owned"
    assert "managed by OneLogin over SCIM" in error["message"]
    user.refresh_from_db()
    assert user.status == status
    assert AuditEvent.objects.count() == events


def test_without_saml_settings_the_message_says_identity_provider(api, company):
    user = UserFactory(company=company, managed_by=ManagedBy.SCIM)
    response = api.post(f"/api/v1/users/{user.pk}/suspend")
    assert "managed by your identity provider over SCIM" in response.json()["error"]["message"]


def test_a_user_waiting_for_approval_cannot_be_changed(api, company, offices):
    _, new_york = offices
    user = UserFactory(company=company, managed_by=ManagedBy.SCIM, status=UserStatus.PENDING)
    response = api.post(
        f"/api/v1/users/{user.pk}/move_to_office", {"office": new_york.pk}, format="json"
    )
    assert response.status_code == 409
    assert "waiting for an approver" in response.json()["error"]["message"]
