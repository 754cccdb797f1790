"""Filters on `phoneNumbers` match what GET shows (RFC 7644 §3.4.2.2): the numbers the client
wrote, exactly those, once it wrote any; until then the assigned number as the primary work one.
A value path's conditions hold on one and the same number; values compare case-insensitively
(phoneNumbers.value is caseExact:false); only the company's users."""

import importlib
from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import SYSTEM, Source
from accounts.models import User, UserPhoneNumber
from members.services import create_member
from offices.models import PhoneNumber
from provisioning.scim import schema as s
from provisioning.scim.filters import parse_filter, to_q
from provisioning.scim.queries import USER_FILTERS, resolver
from tests.accounts.factories import UserFactory
from tests.offices.factories import PhoneNumberFactory
from tests.provisioning.test_scim_users import CORE, SWITCHBOARD, new_user, patch
from tests.provisioning.test_scim_users import ids as ids_of

pytestmark = pytest.mark.django_db

MOBILE = {"value": "+1 555 0100", "type": "mobile"}
HOME = {"value": "+1 555 0199", "type": "home", "primary": True}
OTHER = {"value": "Tel:+1-555-0142", "type": "other"}


def ids(scim, filter_text):
    return ids_of(scim, quote(filter_text))  # "+" in a query string is a space


def line_of(user_id):
    return User.objects.select_related("phone_number").get(pk=user_id).phone_number.number


def rows_of(user_id):
    return sorted(
        UserPhoneNumber.objects.filter(user_id=user_id).values_list(
            "value_lower", "type", "primary"
        )
    )


@pytest.fixture
def people(scim, company, main_office):
    """Ann wrote three numbers and holds a line; Bob wrote none and holds a line; Cy's client
    wrote an empty list (he holds a line, shown nowhere); Dan has neither."""
    for number in ("+14155550101", "+14155550102", "+14155550103"):
        PhoneNumberFactory(company=company, office=main_office, number=number)
    ann = new_user(scim, "ann@acme.example", phoneNumbers=[MOBILE, HOME, OTHER])["id"]
    bob = new_user(scim, "bob@acme.example")["id"]
    cy = new_user(scim, "cy@acme.example", phoneNumbers=[])["id"]
    dan = create_member(
        company=company, email="dan@acme.example", actor=SYSTEM, source=Source.ADMIN
    )
    return {"ann": ann, "bob": bob, "cy": cy, "dan": str(dan.pk)}


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('phoneNumbers eq "+1 555 0100"', ["ann"]),
        ('phoneNumbers.value eq "+1 555 0100"', ["ann"]),
        ('phoneNumbers.value eq "TEL:+1-555-0142"', ["ann"]),
        ('phoneNumbers.value sw "+1 555"', ["ann"]),
        ('phoneNumbers[type eq "mobile"].value eq "+1 555 0100"', ["ann"]),
        ('phoneNumbers[type eq "mobile" and value eq "+1 555 0100"]', ["ann"]),
        # The same number must be both: Ann's mobile is not her home number.
        ('phoneNumbers[type eq "home" and value eq "+1 555 0100"]', []),
        ('phoneNumbers[type eq "home"].value eq "+1 555 0100"', []),
        ('phoneNumbers[type eq "home" and primary eq true]', ["ann"]),
        ('phoneNumbers[type eq "mobile" and primary eq false]', ["ann"]),
        # Bob's line is shown as his primary work number; nobody else shows a work number.
        ('phoneNumbers[type eq "work"]', ["bob"]),
        ('phoneNumbers[type eq "WORK" and primary eq true]', ["bob"]),
        ('phoneNumbers[type eq "work" or type eq "mobile"]', ["ann", "bob"]),
        ("phoneNumbers pr", ["ann", "bob"]),
        ("phoneNumbers.type pr", ["ann", "bob"]),
        ("phoneNumbers.primary eq true", ["ann", "bob"]),
        ('phoneNumbers.value ne "+1 555 0100"', ["ann", "bob"]),  # Ann's other numbers
        ('phoneNumbers[type eq "mobile" and value ne "+1 555 0100"]', []),
        ('not (phoneNumbers eq "+1 555 0100")', ["bob", "cy", "dan"]),
        ('not (phoneNumbers[type eq "work"])', ["ann", "cy", "dan"]),
        ('userName eq "dan@acme.example" or phoneNumbers eq "+1 555 0199"', ["ann", "dan"]),
    ],
)
@pytest.mark.parametrize("row_values", [True, False], ids=["PostgreSQL", "SQLite-style"])
def test_phone_number_filters_match_the_numbers_get_shows(
    scim, people, filter_text, expected, row_values, monkeypatch
):
    # Without row values (SQLite, the quickstart) the filter is one EXISTS per table instead.
    monkeypatch.setattr(connection.features, "supports_tuple_lookups", row_values)
    assert ids(scim, filter_text) == sorted(people[name] for name in expected)


def test_a_line_is_found_only_while_it_is_shown(scim, people):
    # Ann and Cy hold lines their phoneNumbers do not show: no filter on them finds them there;
    # the extension's phoneNumber is the line, whatever was written.
    for name in ("ann", "bob", "cy"):
        line = line_of(people[name])
        shown = [p["value"] for p in scim.get(f"Users/{people[name]}").body.get("phoneNumbers", [])]
        found = ids(scim, f'phoneNumbers.value eq "{line}"')
        assert found == ([people[name]] if line in shown else []), name
        assert (line in shown) == (name == "bob")
        assert ids(scim, f'{SWITCHBOARD}:phoneNumber eq "{line}"') == [people[name]]


def test_phone_number_filters_follow_every_write(scim, people):
    ann, bob = people["ann"], people["bob"]
    replaced = patch(
        scim,
        ann,
        {
            "op": "replace",
            "path": "phoneNumbers",
            "value": [{"value": "+1 555 0111", "type": "home"}],
        },
    )
    assert replaced.status_code == 200, replaced.body
    assert ids(scim, 'phoneNumbers eq "+1 555 0100"') == []
    assert ids(scim, 'phoneNumbers[type eq "home"].value eq "+1 555 0111"') == [ann]
    added = patch(scim, ann, {"op": "add", "path": "phoneNumbers", "value": [MOBILE]})
    assert added.status_code == 200, added.body
    assert rows_of(ann) == [("+1 555 0100", "mobile", False), ("+1 555 0111", "home", False)]
    removed = patch(scim, ann, {"op": "remove", "path": 'phoneNumbers[type eq "mobile"]'})
    assert removed.status_code == 200, removed.body
    assert ids(scim, 'phoneNumbers eq "+1 555 0100"') == []
    assert rows_of(ann) == [("+1 555 0111", "home", False)]
    # Everything removed: an empty list is written, so the line is still not shown.
    cleared = patch(scim, ann, {"op": "remove", "path": "phoneNumbers"})
    assert cleared.status_code == 200, cleared.body
    assert rows_of(ann) == []
    assert ids(scim, f'phoneNumbers.value eq "{line_of(ann)}"') == []
    # A PUT without phoneNumbers goes back to the default: the line, shown and found.
    body = scim.get(f"Users/{ann}").body
    assert scim.put(f"Users/{ann}", body).status_code == 200
    assert ids(scim, f'phoneNumbers[type eq "work"].value eq "{line_of(ann)}"') == [ann]
    # Bob's client writes his first numbers: his line is no longer what he is found by.
    bob_line = line_of(bob)
    body = scim.get(f"Users/{bob}").body
    body["phoneNumbers"] = [MOBILE]
    assert scim.put(f"Users/{bob}", body).status_code == 200
    assert rows_of(bob) == [("+1 555 0100", "mobile", False)]
    assert ids(scim, f'phoneNumbers eq "{bob_line}"') == []
    assert ids(scim, 'phoneNumbers eq "+1 555 0100"') == [bob]


def test_a_deleted_user_takes_its_numbers_along(scim, people):
    assert scim.delete(f"Users/{people['ann']}").status_code == 204
    assert not UserPhoneNumber.objects.filter(user_id=people["ann"]).exists()
    assert ids(scim, "phoneNumbers pr") == [people["bob"]]


def test_a_number_too_long_once_lower_cased_is_refused_and_nothing_is_written(scim, people):
    # "İ" lower-cases to two characters: 50 as written, 51 as searched.
    value = "İ" + "1" * 49
    response = scim.patch(
        f"Users/{people['bob']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "phoneNumbers", "value": [{"value": value}]}],
        },
    )
    assert response.status_code == 400, response.body
    assert "50 characters" in response.body["detail"]
    assert User.objects.get(pk=people["bob"]).phone_numbers is None
    assert not UserPhoneNumber.objects.filter(user_id=people["bob"]).exists()


def test_another_companys_user_never_matches(scim, people, other_company):
    create_member(
        company=other_company,
        email="ann@globex.example",
        phone_numbers=[MOBILE],
        actor=SYSTEM,
        source=Source.ADMIN,
    )
    assert UserPhoneNumber.objects.filter(value_lower="+1 555 0100").count() == 2
    assert ids(scim, 'phoneNumbers eq "+1 555 0100"') == [people["ann"]]


def test_the_migration_backfills_every_written_number(scim, people, company):
    # Written outside the services (no rows yet): the backfill adds them.
    eve = UserFactory(company=company, email="eve@acme.example", phone_numbers=[MOBILE])
    expected = sorted(
        UserPhoneNumber.objects.values_list("user_id", "value_lower", "type", "primary")
    )
    UserPhoneNumber.objects.all().delete()
    migration = importlib.import_module("accounts.migrations.0011_user_phone_number")
    migration.from_users(apps, None)
    backfilled = sorted(
        UserPhoneNumber.objects.values_list("user_id", "value_lower", "type", "primary")
    )
    assert backfilled == sorted([*expected, (eve.pk, "+1 555 0100", "mobile", False)])
    assert ids(scim, 'phoneNumbers eq "+1 555 0100"') == sorted([people["ann"], str(eve.pk)])


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('phoneNumbers.value eq "+1 555 4241"', "p4241"),
        ('phoneNumbers[type eq "mobile"].value eq "+1 555 4241"', "p4241"),
        ('phoneNumbers[type eq "mobile" and value eq "+1 555 4241"]', "p4241"),
        ('phoneNumbers.value eq "+14155554242"', "p4242"),
        ('phoneNumbers[type eq "work" and primary eq true].value eq "+14155554242"', "p4242"),
    ],
)
def test_phone_number_filters_are_index_probes_at_ten_thousand_users(
    company, other_company, filter_text, expected
):
    # Two users in three wrote a mobile number; the third holds a line and wrote none.
    users = User.objects.bulk_create(
        (
            User(
                company=company if i % 10 else other_company,
                email=f"p{i}@acme.example",
                phone_numbers=[{"value": f"+1 555 {i:04d}", "type": "mobile"}] if i % 3 else None,
            )
            for i in range(10_000)
        ),
        batch_size=2_000,
    )
    UserPhoneNumber.objects.bulk_create(
        (
            UserPhoneNumber(
                company_id=user.company_id,
                user=user,
                value_lower=user.phone_numbers[0]["value"],
                type="mobile",
            )
            for user in users
            if user.phone_numbers
        ),
        batch_size=2_000,
    )
    PhoneNumber.objects.bulk_create(
        (
            PhoneNumber(
                company_id=user.company_id,
                number=f"+1415555{i:04d}",
                country="US",
                assigned_user=user,
            )
            for i, user in enumerate(users)
            if not user.phone_numbers
        ),
        batch_size=2_000,
    )
    with connection.cursor() as cursor:
        for table in ("accounts_user", "accounts_userphonenumber", "offices_phonenumber"):
            cursor.execute(f"ANALYZE {table}")
    condition = to_q(parse_filter(filter_text), resolver(s.USER_TYPE, USER_FILTERS))
    queryset = User.objects.filter(company=company).filter(condition).order_by("pk")
    plan = queryset.values_list("pk", flat=True)[:100].explain()  # as UserEndpoint.page asks
    print(f"\n{filter_text}\n{plan}")
    # The matched values by index, then their users by key: no walk over the company's users.
    assert "Seq Scan" not in plan
    assert "SubPlan" not in plan
    assert "Index Scan using user_phone_company_value" in plan
    assert [u.email for u in queryset] == [f"{expected}@acme.example"]


def test_okta_and_entra_writes_are_found(scim, people):
    # Entra: PascalCase names and capitalised ops; Okta: a no-path replace of the attribute.
    entra = scim.post(
        "Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "UserName": "eve@acme.example",
            "Emails": [{"Primary": True, "Type": "work", "Value": "eve@acme.example"}],
            "PhoneNumbers": [{"Type": "mobile", "Value": "+1 555 0123", "Primary": True}],
        },
    )
    assert entra.status_code == 201, entra.body
    found = 'phoneNumbers[type eq "mobile" and primary eq true].value eq "+1 555 0123"'
    assert ids(scim, found) == [entra.body["id"]]
    replaced = patch(
        scim,
        entra.body["id"],
        {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0124"},
    )
    assert replaced.status_code == 200, replaced.body
    assert ids(scim, 'phoneNumbers eq "+1 555 0124"') == [entra.body["id"]]
    okta = patch(
        scim,
        people["bob"],
        {"op": "replace", "value": {"phoneNumbers": [{"value": "+1 555 0125", "type": "home"}]}},
    )
    assert okta.status_code == 200, okta.body
    assert ids(scim, 'phoneNumbers[type eq "home"].value eq "+1 555 0125"') == [people["bob"]]
    assert rows_of(entra.body["id"]) == [("+1 555 0124", "mobile", True)]


def test_only_writes_of_phone_numbers_touch_their_rows(scim, people):
    def statements_on_rows(call):
        with CaptureQueriesContext(connection) as queries:
            assert call().status_code in {200, 201}
        return [q["sql"].split()[0] for q in queries if "accounts_userphonenumber" in q["sql"]]

    fay = {"schemas": [CORE], "userName": "fay@acme.example"}
    assert statements_on_rows(lambda: scim.post("Users", fay)) == []
    title = {"op": "replace", "path": "title", "value": "Lead"}
    assert statements_on_rows(lambda: patch(scim, people["ann"], title)) == []
    # A client's first numbers: nothing to delete.
    first = {"op": "add", "path": "phoneNumbers", "value": [MOBILE]}
    assert statements_on_rows(lambda: patch(scim, people["bob"], first)) == ["INSERT"]
    again = {"op": "replace", "path": "phoneNumbers", "value": [HOME]}
    assert statements_on_rows(lambda: patch(scim, people["bob"], again)) == ["DELETE", "INSERT"]
