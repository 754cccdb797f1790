"""What a client writes comes back as written: Group externalId, every email with its type and
primary flag, name.formatted, displayName (removable); what cannot be unassigned is refused."""

import pytest

from accounts.models import AuditEvent, User, UserStatus
from offices.models import Office
from tests.offices.factories import OfficeFactory
from tests.provisioning.test_scim_groups import GROUP, group_patch
from tests.provisioning.test_scim_users import SWITCHBOARD, assert_error, new_user, patch

pytestmark = pytest.mark.django_db


# --- Groups: externalId (Entra sends one) ---


def test_group_external_id_is_kept_filtered_replaced_and_cleared(scim, main_office):
    created = scim.post(
        "Groups", {"schemas": [GROUP], "displayName": "Austin", "externalId": "aad-Grp-1"}
    )
    assert created.status_code == 201, created.body
    assert created.body["externalId"] == "aad-Grp-1"
    office = Office.objects.get(pk=created.body["id"])
    assert office.external_id == "aad-Grp-1"

    found = scim.get('Groups?filter=externalId eq "aad-Grp-1"')
    assert [g["id"] for g in found.body["Resources"]] == [str(office.pk)]
    # externalId is caseExact (RFC 7643 §3.1).
    assert scim.get('Groups?filter=externalId eq "AAD-GRP-1"').body["totalResults"] == 0

    replaced = group_patch(scim, office, {"op": "Replace", "path": "externalId", "value": "g-2"})
    assert replaced.status_code == 200, replaced.body
    assert replaced.body["externalId"] == "g-2"
    assert AuditEvent.objects.filter(
        action="office.updated", after__external_id="g-2", source="scim"
    ).exists()

    # PUT replaces: an unsent externalId is cleared.
    put = scim.put(f"Groups/{office.pk}", {"schemas": [GROUP], "displayName": "Austin"})
    assert put.status_code == 200, put.body
    assert "externalId" not in put.body
    office.refresh_from_db()
    assert office.external_id is None


def test_group_external_id_is_unique_in_the_company(scim, main_office, other_company):
    OfficeFactory(company=other_company, name="Elsewhere", is_main=True, external_id="dup")
    first = scim.post("Groups", {"schemas": [GROUP], "displayName": "A", "externalId": "dup"})
    assert first.status_code == 201, first.body
    second = scim.post("Groups", {"schemas": [GROUP], "displayName": "B", "externalId": "dup"})
    assert_error(second, 409, "uniqueness")
    assert not Office.objects.filter(name="B").exists()


# --- Users: emails, name.formatted, displayName ---


def test_every_email_is_kept_as_written_and_the_primary_one_signs_in(scim):
    emails = [
        {"value": "ann.home@example.org", "type": "home"},
        {"value": "ann@acme.example", "type": "work", "primary": True},
    ]
    body = new_user(scim, emails=emails)
    assert body["emails"] == emails
    user = User.objects.get(pk=body["id"])
    assert user.email == "ann@acme.example"
    assert scim.get('Users?filter=emails.value eq "ann@acme.example"').body["totalResults"] == 1

    # Swapping the primary flag changes the sign-in email.
    swapped = patch(
        scim,
        body["id"],
        {
            "op": "replace",
            "path": "emails",
            "value": [
                {"value": "ann.home@example.org", "type": "home", "primary": True},
                {"value": "ann@acme.example", "type": "work"},
            ],
        },
    )
    assert swapped.status_code == 200, swapped.body
    user.refresh_from_db()
    assert user.email == "ann.home@example.org"
    assert swapped.body["emails"][0] == {
        "value": "ann.home@example.org",
        "type": "home",
        "primary": True,
    }


def test_without_primary_the_work_email_signs_in_and_nothing_is_made_primary(scim):
    emails = [
        {"value": "ann.home@example.org", "type": "home"},
        {"value": "ann@acme.example", "type": "work"},
    ]
    body = new_user(scim, emails=emails)
    assert User.objects.get(pk=body["id"]).email == "ann@acme.example"
    assert body["emails"] == emails


def test_two_primary_emails_are_refused(scim):
    response = scim.post(
        "Users",
        {
            "userName": "ann@acme.example",
            "emails": [
                {"value": "ann@acme.example", "primary": True},
                {"value": "a@example.org", "primary": True},
            ],
        },
    )
    assert_error(response, 400, "invalidValue")
    assert not User.objects.filter(email="ann@acme.example").exists()


def test_an_email_set_outside_scim_is_shown_first_as_the_primary_work_email(scim, member):
    body = scim.get(f"Users/{member.pk}").body
    assert body["emails"] == [{"value": member.email, "type": "work", "primary": True}]


def test_name_formatted_and_display_name_are_what_the_client_wrote(scim):
    body = new_user(scim, displayName="Annie")
    # Never written: composed from the parts.
    assert body["name"]["formatted"] == "Ann Lee"
    written = patch(
        scim, body["id"], {"op": "replace", "path": "name.formatted", "value": "Dr. Ann Lee"}
    )
    assert written.body["name"]["formatted"] == "Dr. Ann Lee"
    assert User.objects.get(pk=body["id"]).name_formatted == "Dr. Ann Lee"

    removed = patch(scim, body["id"], {"op": "remove", "path": "displayName"})
    assert removed.status_code == 200, removed.body
    assert "displayName" not in removed.body
    assert User.objects.get(pk=body["id"]).display_name == ""
    assert "displayName" not in scim.get(f"Users/{body['id']}").body


# --- removals with no meaning are refused, never ignored ---


@pytest.mark.parametrize(
    "path",
    [
        "active",
        SWITCHBOARD,
        f"{SWITCHBOARD}:licenseType",
        f"{SWITCHBOARD}:officeName",
    ],
)
def test_removing_what_a_user_always_has_is_400_mutability(scim, path):
    body = new_user(scim)
    before = User.objects.get(pk=body["id"])
    response = patch(scim, body["id"], {"op": "Remove", "path": path})
    assert_error(response, 400, "mutability")
    assert "cannot be removed" in response.body["detail"]
    after = User.objects.get(pk=body["id"])
    assert (after.status, after.license_type, after.office_id, after.updated_at) == (
        UserStatus.ACTIVE,
        before.license_type,
        before.office_id,
        before.updated_at,
    )


def test_an_admin_changing_the_sign_in_email_changes_it_in_place(scim, company_admin):
    from accounts.audit import Source
    from members import services as member_services

    emails = [
        {"value": "ann@acme.example", "type": "work", "primary": True},
        {"value": "ann.home@example.org", "type": "home"},
    ]
    body = new_user(scim, emails=emails)
    member_services.update_member(
        user=User.objects.get(pk=body["id"]),
        changes={"email": "ann.lee@acme.example"},
        actor=company_admin,
        source=Source.ADMIN,
    )
    assert scim.get(f"Users/{body['id']}").body["emails"] == [
        {"value": "ann.lee@acme.example", "type": "work", "primary": True},
        {"value": "ann.home@example.org", "type": "home"},
    ]
