"""The SCIM flows with approval on: 202 Accepted, the resource as it stands, a reserved user."""

import pytest

from accounts.audit import Source
from accounts.models import User, UserStatus
from approvals import services
from approvals.models import ChangeStatus, PendingChange
from tests.approvals.factories import policy
from tests.provisioning.test_scim_groups import GROUP
from tests.provisioning.test_scim_users import CORE, PATCH, SWITCHBOARD, assert_error

pytestmark = pytest.mark.django_db
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

CREATE_BODIES = {
    "core": {
        "schemas": [CORE],
        "userName": "ann@acme.example",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@acme.example", "type": "work", "primary": True}],
        SWITCHBOARD: {"licenseType": "sales"},
    },
    "onelogin": {  # emails as an object, "true" as a string
        "schemas": [CORE, ENTERPRISE],
        "userName": "ann@acme.example",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": {"value": "ann@acme.example", "primary": "true"},
        "active": "true",
        "title": "Engineer",
    },
    "entra": {  # PascalCase attribute names, externalId
        "schemas": [CORE, ENTERPRISE],
        "externalId": "0a1b2c",
        "UserName": "Ann@acme.example",
        "Active": True,
        "Name": {"GivenName": "Ann", "FamilyName": "Lee"},
        "Emails": [{"Primary": True, "Type": "work", "Value": "ann@acme.example"}],
    },
}

UPDATES = {
    "patch-path": {
        "method": "patch",
        "body": {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "title", "value": "CTO"}],
        },
    },
    "patch-no-path-okta": {
        "method": "patch",
        "body": {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"title": "CTO"}}]},
    },
    "patch-entra": {
        "method": "patch",
        "body": {
            "schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "title", "value": "CTO"}],
        },
    },
    "put": {
        "method": "put",
        "body": {
            "schemas": [CORE],
            "userName": "bob@acme.example",
            "name": {"givenName": "Bob", "familyName": "Ray"},
            "emails": [{"value": "bob@acme.example", "primary": True}],
            "title": "CTO",
            "active": True,
        },
    },
}


def approve_all(company_admin, capture):
    for change in PendingChange.objects.filter(status=ChangeStatus.PENDING).order_by("pk"):
        with capture(execute=True):
            services.approve_change(change=change, actor=company_admin, source=Source.ADMIN)


@pytest.fixture
def bob(scim, company, office):
    response = scim.post(
        "Users",
        {
            "schemas": [CORE],
            "userName": "bob@acme.example",
            "name": {"givenName": "Bob", "familyName": "Ray"},
            "emails": [{"value": "bob@acme.example", "primary": True}],
        },
    )
    assert response.status_code == 201, response.body
    return response.body


@pytest.mark.parametrize("dialect", CREATE_BODIES)
def test_create_with_approval_is_202_with_a_reserved_user(
    dialect, scim, api_key, company, office, company_admin, django_capture_on_commit_callbacks
):
    policy(company, "create")
    response = scim.post("Users", CREATE_BODIES[dialect])
    assert response.status_code == 202, response.body
    body = response.body
    assert body["id"]
    assert body["active"] is False
    assert body[SWITCHBOARD]["pendingChanges"] == 1
    assert body[SWITCHBOARD].get("phoneNumber") is None
    reserved = User.objects.get(pk=body["id"])
    assert reserved.status == UserStatus.PENDING
    assert not User.objects.filter(pk=reserved.pk, phone_number__isnull=False).exists()
    change = PendingChange.objects.get()
    assert (change.operation, change.user_id, change.status) == ("create", reserved.pk, "pending")
    assert change.request_method == "POST"
    assert change.request_path == "/scim/v2/Users"
    assert "ann@acme.example" in change.request_body.lower()
    assert change.requested_by == api_key  # the key that asked, for the approver to see
    assert "OneLogin" in change.requested_by_label
    # The client can read what it got back, and find it by userName.
    fetched = scim.get(f"Users/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.body["active"] is False
    found = scim.get('Users?filter=userName eq "ann@acme.example"')
    assert [r["id"] for r in found.body["Resources"]] == [body["id"]]

    approve_all(company_admin, django_capture_on_commit_callbacks)
    after = scim.get(f"Users/{body['id']}").body
    assert after["active"] is True
    assert "pendingChanges" not in after[SWITCHBOARD]  # none wait
    assert after["phoneNumbers"][0]["type"] == "work"


@pytest.mark.parametrize(
    ("body", "status", "scim_type"),
    [
        ({"schemas": [CORE], "userName": "x"}, 400, "invalidValue"),  # no email
        (
            {
                "schemas": [CORE],
                "userName": "bob@acme.example",
                "emails": [{"value": "bob@acme.example"}],
            },
            409,
            "uniqueness",
        ),
        (
            {
                "schemas": [CORE],
                "userName": "z@acme.example",
                "emails": [{"value": "z@acme.example"}],
                SWITCHBOARD: {"officeName": "Atlantis"},
            },
            400,
            "invalidValue",
        ),
    ],
)
def test_bad_create_is_refused_now_and_nothing_queued(scim, company, bob, body, status, scim_type):
    policy(company, "create")
    assert_error(scim.post("Users", body), status, scim_type)
    assert not PendingChange.objects.exists()
    assert not User.objects.filter(status=UserStatus.PENDING).exists()


@pytest.mark.parametrize("form", UPDATES)
def test_update_with_approval_is_202_and_leaves_the_user_untouched(
    form, scim, company, bob, company_admin, django_capture_on_commit_callbacks
):
    policy(company, "update")
    update = UPDATES[form]
    response = getattr(scim, update["method"])(f"Users/{bob['id']}", update["body"])
    assert response.status_code == 202, response.body
    assert response.body.get("title") in (None, "")
    assert response.body[SWITCHBOARD]["pendingChanges"] == 1
    assert User.objects.get(pk=bob["id"]).title == ""
    change = PendingChange.objects.get()
    assert change.changes["title"] == "CTO"
    assert change.request_method == update["method"].upper()

    approve_all(company_admin, django_capture_on_commit_callbacks)
    after = scim.get(f"Users/{bob['id']}").body
    assert after["title"] == "CTO"
    assert "pendingChanges" not in after[SWITCHBOARD]  # none wait


def test_suspension_waits_for_approval(
    scim, company, bob, company_admin, django_capture_on_commit_callbacks
):
    policy(company, "update")
    response = scim.patch(
        f"Users/{bob['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": "False"}]},
    )
    assert response.status_code == 202
    assert response.body["active"] is True
    approve_all(company_admin, django_capture_on_commit_callbacks)
    assert User.objects.get(pk=bob["id"]).status == UserStatus.SUSPENDED


def test_bad_update_is_refused_now(scim, company, bob):
    policy(company, "update")
    response = scim.patch(
        f"Users/{bob['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "emails", "value": "nope"}]},
    )
    assert 400 <= response.status_code < 500
    assert not PendingChange.objects.exists()


def test_update_without_differences_is_not_queued(scim, company, bob):
    policy(company, "update")
    response = scim.patch(
        f"Users/{bob['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "name.givenName", "value": "Bob"}],
        },
    )
    assert response.status_code == 200
    assert not PendingChange.objects.exists()


def test_delete_with_approval_is_202_then_404_once_approved(
    scim, company, bob, company_admin, django_capture_on_commit_callbacks
):
    policy(company, "delete")
    response = scim.delete(f"Users/{bob['id']}")
    assert response.status_code == 202
    assert response.body["id"] == bob["id"]
    assert response.body[SWITCHBOARD]["pendingChanges"] == 1
    assert scim.get(f"Users/{bob['id']}").status_code == 200
    approve_all(company_admin, django_capture_on_commit_callbacks)
    assert_error(scim.get(f"Users/{bob['id']}"), 404)


def test_operations_the_policy_does_not_cover_apply_at_once(scim, company, bob):
    policy(company, "create")
    response = scim.patch(
        f"Users/{bob['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "CTO"}]},
    )
    assert response.status_code == 200
    assert response.body["title"] == "CTO"
    assert scim.delete(f"Users/{bob['id']}").status_code == 204


def test_changes_to_a_reserved_user_queue_behind_its_create(
    scim, company, office, company_admin, django_capture_on_commit_callbacks
):
    policy(company, "create")
    created = scim.post("Users", CREATE_BODIES["core"]).body
    response = scim.patch(
        f"Users/{created['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": True}]},
    )
    assert response.status_code == 202  # no activation around the approver
    assert response.body["active"] is False
    assert response.body[SWITCHBOARD]["pendingChanges"] == 2
    listed = scim.get('Users?filter=userName sw "ann"').body["Resources"]
    assert listed[0][SWITCHBOARD]["pendingChanges"] == 2
    approve_all(company_admin, django_capture_on_commit_callbacks)
    assert User.objects.get(pk=created["id"]).status == UserStatus.ACTIVE
    assert set(PendingChange.objects.values_list("status", flat=True)) == {"applied"}


def test_foreign_user_is_404_not_queued(scim, company, other_company):
    from tests.accounts.factories import UserFactory

    policy(company, "update", "delete")
    foreign = UserFactory(company=other_company)
    assert_error(scim.delete(f"Users/{foreign.pk}"), 404)
    assert not PendingChange.objects.exists()


def test_group_member_moves_wait_for_approval_as_updates(
    scim, company, bob, company_admin, django_capture_on_commit_callbacks
):
    """Adding a member to a group moves that user to another office: an update of the user."""
    policy(company, "update")
    home = User.objects.get(pk=bob["id"]).office
    created = scim.post("Groups", {"schemas": [GROUP], "displayName": "Austin"})
    assert created.status_code == 201
    group_id = created.body["id"]

    response = scim.patch(
        f"Groups/{group_id}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": bob["id"]}]}],
        },
    )
    assert response.status_code == 202, response.body
    assert response.body.get("members", []) == []
    assert User.objects.get(pk=bob["id"]).office == home  # untouched until approved
    change = PendingChange.objects.get()
    assert (change.operation, change.user_id) == ("update", int(bob["id"]))
    assert change.changes == {"office_name": "Austin"}

    approve_all(company_admin, django_capture_on_commit_callbacks)
    assert User.objects.get(pk=bob["id"]).office.name == "Austin"
    members = scim.get(f"Groups/{group_id}").body["members"]
    assert [member["value"] for member in members] == [bob["id"]]


def test_group_member_moves_apply_at_once_without_update_approval(scim, company, bob):
    policy(company, "create", "delete")
    created = scim.post(
        "Groups", {"schemas": [GROUP], "displayName": "Austin", "members": [{"value": bob["id"]}]}
    )
    assert created.status_code == 201
    assert User.objects.get(pk=bob["id"]).office.name == "Austin"
    assert not PendingChange.objects.exists()


def test_approved_phone_numbers_are_what_filters_find(
    scim, company, bob, company_admin, django_capture_on_commit_callbacks
):
    policy(company, "update")
    mobile = {"value": "+1 555 0100", "type": "mobile"}
    queued = scim.patch(
        f"Users/{bob['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "phoneNumbers", "value": [mobile]}],
        },
    )
    assert queued.status_code == 202, queued.body
    waiting = scim.get('Users?filter=phoneNumbers eq "%2B1 555 0100"')
    assert waiting.body["totalResults"] == 0  # not applied yet: not shown, not found
    approve_all(company_admin, django_capture_on_commit_callbacks)
    found = scim.get('Users?filter=phoneNumbers[type eq "mobile"].value eq "%2B1 555 0100"')
    assert [r["id"] for r in found.body["Resources"]] == [bob["id"]]
