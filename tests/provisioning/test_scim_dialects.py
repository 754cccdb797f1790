from accounts.models import User, UserStatus
from tests.provisioning.test_scim_users import CORE, PATCH, assert_error

SWITCHBOARD = "urn:ietf:params:scim:schemas:extension:switchboard:2.0:User"


def test_onelogin_sequence(scim):
    found = scim.get('Users?filter=userName eq "jo@acme.example"')
    assert found.body["totalResults"] == 0
    created = scim.post(
        "Users",
        {
            "schemas": [CORE],
            "userName": "jo@acme.example",
            "name": {"givenName": "Jo", "familyName": "Park"},
            "emails": {"value": "jo@acme.example", "primary": "true"},  # an object, not a list
            "active": "true",
            "licenseType": "sales",  # custom parameter as a top-level key
        },
    )
    assert created.status_code == 201, created.body
    user_id = created.body["id"]
    updated = scim.put(
        f"Users/{user_id}",
        {
            "userName": "jo@acme.example",
            "name": {"givenName": "Joanna", "familyName": "Park"},
            "emails": {"value": "jo@acme.example"},
            "active": "true",
        },
    )
    assert updated.body["name"]["givenName"] == "Joanna"
    suspended = scim.patch(
        f"Users/{user_id}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": "false"}]},
    )
    assert suspended.body["active"] is False
    assert User.objects.get(pk=user_id).status == UserStatus.SUSPENDED
    assert scim.delete(f"Users/{user_id}").status_code == 204
    assert_error(scim.get(f"Users/{user_id}"), 404)


def test_okta_spec_sequence(scim):
    created = scim.post(
        "Users",
        {
            "schemas": [CORE],
            "userName": "okta@acme.example",
            "name": {"givenName": "O", "familyName": "K"},
            "emails": [{"value": "okta@acme.example", "primary": True}],
            "active": True,
        },
    )
    assert created.status_code == 201
    listed = scim.get("Users?count=1&startIndex=1").body
    assert listed["itemsPerPage"] == 1
    assert scim.get(f"Users/{created.body['id']}").status_code == 200
    assert scim.get('Users?filter=userName eq "nobody@acme.example"').body["totalResults"] == 0
    assert_error(scim.get("Users/010101"), 404)
    again = scim.post("Users", {"schemas": [CORE], "userName": "okta@acme.example"})
    assert_error(again, 409, "uniqueness")
    upper = scim.get('Users?filter=userName eq "OKTA@ACME.EXAMPLE"').body
    assert upper["totalResults"] == 1
    off = scim.patch(
        f"Users/{created.body['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert off.body["active"] is False


def test_entra_sequence(scim):
    created = scim.post(
        "Users",
        {
            "schemas": [CORE, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "e-1",
            "UserName": "en@acme.example",
            "Active": "True",
            "emails": [{"Primary": True, "type": "work", "value": "en@acme.example"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "Ops"},
        },
    )
    assert created.status_code == 201, created.body
    user_id = created.body["id"]
    assert User.objects.get(pk=user_id).department == "Ops"
    by_email = scim.get('Users?filter=emails[type eq "work"].value eq "en@acme.example"').body
    assert [r["id"] for r in by_email["Resources"]] == [user_id]
    assert scim.get('Users?filter=externalId eq "e-1"').body["totalResults"] == 1
    response = scim.patch(
        f"Users/{user_id}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "title", "value": "Ops lead"},
                {"op": "Remove", "path": "nickName"},
            ],
        },
    )
    assert response.status_code == 200, response.body
    assert (
        scim.get('Users?filter=externalId eq "e-1" and active eq false').body["totalResults"] == 1
    )
