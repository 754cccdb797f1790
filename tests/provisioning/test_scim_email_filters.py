"""Filters on `emails` match any of the user's emails (RFC 7644 §3.4.2.2), the sign-in one and
every other one the client wrote; a value path's conditions hold on one and the same email;
values compare case-insensitively (emails.value is caseExact:false); only the company's users."""

import importlib

import pytest
from django.apps import apps

from accounts.audit import SYSTEM, Source
from accounts.models import UserEmail
from members.services import create_member, update_member
from tests.provisioning.test_scim_users import ids, new_user, patch

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(scim):
    """Signs in with her work email; a home email is profile data."""
    return new_user(
        scim,
        "ann@acme.example",
        emails=[
            {"value": "ann@acme.example", "type": "work", "primary": True},
            {"value": "Ann.Home@Example.org", "type": "home"},
        ],
    )["id"]


@pytest.fixture
def bob(scim):
    """Bob's work email is not primary; his home email signs in."""
    return new_user(
        scim,
        "bob@acme.example",
        emails=[
            {"value": "bob@acme.example", "type": "work"},
            {"value": "bob@example.org", "type": "home", "primary": True},
        ],
    )["id"]


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('emails eq "ann.home@example.org"', ["ann"]),
        ('emails.value eq "ANN.HOME@EXAMPLE.ORG"', ["ann"]),
        ('emails.value co "HOME@"', ["ann"]),
        ('emails.value sw "bob@"', ["bob"]),
        ('emails.value ew "@example.org"', ["ann", "bob"]),
        ('emails[type eq "home"].value eq "ann.home@example.org"', ["ann"]),
        ('emails[type eq "HOME" and value eq "bob@example.org"]', ["bob"]),
        # The same email must be both: Ann's home email is not her work one.
        ('emails[type eq "work" and value eq "ann.home@example.org"]', []),
        ('emails[type eq "work"].value eq "ann.home@example.org"', []),
        ('emails[type eq "work" and primary eq true]', ["ann"]),
        ('emails[type eq "home" and primary eq true].value eq "bob@example.org"', ["bob"]),
        ('emails[type eq "work" and primary eq true].value eq "bob@acme.example"', []),
        ('emails[primary eq false and value co "home"]', ["ann"]),
        ('emails[type eq "work" or type eq "other"].value eq "bob@acme.example"', ["bob"]),
        ('not (emails eq "ann.home@example.org")', ["bob"]),
        ('not (emails[type eq "home" and value co "ann"])', ["bob"]),
        ("emails pr", ["ann", "bob"]),
        ('emails[type eq "mobile"]', []),
        ('userName eq "bob@acme.example" or emails eq "ann.home@example.org"', ["ann", "bob"]),
    ],
)
def test_email_filters_match_any_email_of_the_user(scim, ann, bob, filter_text, expected):
    people = {"ann": ann, "bob": bob}
    assert ids(scim, filter_text) == sorted(people[name] for name in expected)


def test_unknown_email_sub_attributes_and_bad_booleans_are_invalid_filters(scim, ann):
    for filter_text in ('emails.display eq "x"', 'emails[primary eq "maybe"]'):
        response = scim.get(f"Users?filter={filter_text}")
        assert response.status_code == 400, filter_text
        assert response.body["scimType"] == "invalidFilter"


def test_email_filters_follow_changes_to_the_emails(scim, ann):
    replaced = patch(
        scim,
        ann,
        {
            "op": "replace",
            "path": "emails",
            "value": [
                {"value": "ann@acme.example", "type": "work", "primary": True},
                {"value": "ann@mobile.example", "type": "other"},
            ],
        },
    )
    assert replaced.status_code == 200, replaced.body
    assert ids(scim, 'emails eq "ann.home@example.org"') == []
    assert ids(scim, 'emails[type eq "other"].value eq "ann@mobile.example"') == [ann]
    # A new sign-in email (userName and emails unchanged elsewhere) replaces the old one.
    moved = patch(
        scim,
        ann,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "a@acme.example"},
    )
    assert moved.status_code == 200, moved.body
    assert ids(scim, 'emails eq "ann@acme.example"') == []
    assert ids(scim, 'emails[type eq "work" and primary eq true].value eq "A@acme.example"') == [
        ann
    ]


def test_a_user_made_outside_scim_is_found_by_the_sign_in_email(scim, company):
    user = create_member(
        company=company, email="Dan@acme.example", actor=SYSTEM, source=Source.ADMIN
    )
    found = 'emails[type eq "work" and primary eq true].value eq "dan@ACME.example"'
    assert ids(scim, found) == [str(user.pk)]
    update_member(
        user=user, changes={"email": "dan.x@acme.example"}, actor=SYSTEM, source=Source.ADMIN
    )
    assert ids(scim, 'emails eq "dan@acme.example"') == []
    assert ids(scim, 'emails eq "dan.x@acme.example"') == [str(user.pk)]


def test_another_companys_user_never_matches(scim, ann, other_company):
    create_member(
        company=other_company,
        email="ann@globex.example",
        email_addresses=[{"value": "ann.home@example.org", "type": "home"}],
        actor=SYSTEM,
        source=Source.ADMIN,
    )
    assert UserEmail.objects.filter(value_lower="ann.home@example.org").count() == 2
    assert ids(scim, 'emails eq "ann.home@example.org"') == [ann]
    assert ids(scim, 'emails eq "ann@globex.example"') == []
    assert ids(scim, "emails pr") == [ann]


def test_the_migration_backfills_every_email_as_scim_shows_them(scim, ann, bob, member):
    expected = sorted(UserEmail.objects.values_list("user_id", "value_lower", "type", "primary"))
    UserEmail.objects.all().delete()
    migration = importlib.import_module("accounts.migrations.0006_user_email")
    migration.from_users(apps, None)
    backfilled = sorted(UserEmail.objects.values_list("user_id", "value_lower", "type", "primary"))
    # The factory-made member (no service, no rows) gets the sign-in email as primary work one.
    assert backfilled == sorted([*expected, (member.pk, "member@acme.example", "work", True)])


@pytest.mark.parametrize(
    "too_long",
    [
        # Valid to Django's validator (up to 320), over the 254 the columns hold.
        "a" * 64 + "@" + ".".join(["d" * 60] * 3) + ".example.org",
        # 200 characters as written; "İ" lower-cases to two, so 380 as searched.
        "a@" + ".".join(["İ" * 60] * 3) + ".org",
    ],
)
def test_an_email_too_long_for_its_columns_is_refused_and_nothing_is_written(scim, ann, too_long):
    before = sorted(UserEmail.objects.filter(user_id=ann).values_list("value_lower", flat=True))
    response = patch(scim, ann, {"op": "add", "path": "emails", "value": [{"value": too_long}]})
    assert response.status_code == 400, response.body
    assert "longer than 254 characters" in response.body["detail"]
    after = sorted(UserEmail.objects.filter(user_id=ann).values_list("value_lower", flat=True))
    assert after == before
