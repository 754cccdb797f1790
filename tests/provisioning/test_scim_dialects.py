from accounts.models import User, UserStatus
from tests.provisioning.test_scim_users import CORE, PATCH, assert_error, patch

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
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


def patch_group(scim, group_id, *operations):
    return scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": list(operations)})


def test_entra_group_sequence_as_its_documentation_writes_it(scim):
    """Entra's group create names its attribute-less legacy schema next to the core one."""
    ann = scim.post("Users", {"schemas": [CORE], "userName": "ann@acme.example"}).body["id"]
    created = scim.post(
        "Groups",
        {
            "schemas": [
                GROUP,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Sales",
            "meta": {"resourceType": "Group"},
        },
    )
    assert created.status_code == 201, created.body
    group_id = created.body["id"]
    assert created.body["schemas"] == [GROUP]
    found = scim.get('Groups?excludedAttributes=members&filter=displayName eq "Sales"').body
    assert [r["id"] for r in found["Resources"]] == [group_id]
    added = patch_group(
        scim, group_id, {"op": "Add", "path": "members", "value": [{"$ref": None, "value": ann}]}
    )
    assert added.status_code == 200, added.body
    assert User.objects.get(pk=ann).office.name == "Sales"
    renamed = patch_group(
        scim, group_id, {"op": "Replace", "path": "displayName", "value": "Field sales"}
    )
    assert renamed.body["displayName"] == "Field sales"
    removed = patch_group(
        scim, group_id, {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": ann}]}
    )
    assert removed.status_code == 200, removed.body
    assert User.objects.get(pk=ann).office.name == "HQ"
    # Only that marker is let through: another unknown schema is still refused.
    assert_error(
        scim.post("Groups", {"schemas": [GROUP, "urn:evil:schema"], "displayName": "Other"}),
        400,
        "invalidValue",
    )


def test_entra_default_mappings_this_server_does_not_keep_do_not_block_an_update(scim):
    """Entra's default attribute mappings write work addresses (physicalDeliveryOfficeName,
    city, …) by path, in the same PATCH as the attributes that changed. Attributes of the RFC
    7643 User this server does not keep are ignored there as in a POST, not refused with the
    whole PATCH."""
    user_id = scim.post("Users", {"schemas": [CORE], "userName": "en@acme.example"}).body["id"]
    response = patch(
        scim,
        user_id,
        {"op": "Add", "path": 'addresses[type eq "work"].formatted', "value": "Bldg 4"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
        {"op": "Replace", "path": "title", "value": "Ops lead"},
        {"op": "Add", "path": "name.honorificPrefix", "value": "Dr."},
        {"op": "Add", "path": "roles", "value": [{"value": "Admin", "primary": True}]},
        {"op": "Replace", "path": "password", "value": "hunter2"},
        {"op": "Remove", "path": 'addresses[type eq "work"]'},
    )
    assert response.status_code == 200, response.body
    assert response.body["title"] == "Ops lead"
    assert "addresses" not in response.body
    assert User.objects.get(pk=user_id).title == "Ops lead"
    # A path that is no attribute of a User at all is still refused.
    wrong = patch(scim, user_id, {"op": "Add", "path": "addressez", "value": "x"})
    assert_error(wrong, 400, "invalidPath")


def test_entra_classic_single_values_wrapped_in_a_list_are_unwrapped(scim):
    """Entra's classic (customappsso) job wraps a single value as [{"$ref": null, "value": …}]
    (Microsoft's SCIM library of the time read it so); a list of one such object for a
    single-valued attribute means that value."""
    manager = scim.post("Users", {"schemas": [CORE], "userName": "boss@acme.example"}).body["id"]
    user_id = scim.post("Users", {"schemas": [CORE], "userName": "en@acme.example"}).body["id"]
    response = patch(
        scim,
        user_id,
        {"op": "Add", "path": "department", "value": [{"$ref": None, "value": "Ops"}]},
        {"op": "Replace", "path": "displayName", "value": [{"$ref": None, "value": "En"}]},
        {"op": "Replace", "path": "name.givenName", "value": [{"value": "Eno"}]},
        {
            "op": "Add",
            "path": f"{ENTERPRISE}:manager",
            "value": [{"$ref": None, "value": manager}],
        },
    )
    assert response.status_code == 200, response.body
    saved = User.objects.get(pk=user_id)
    assert (saved.department, saved.display_name, saved.given_name) == ("Ops", "En", "Eno")
    assert saved.manager_id == int(manager)
    # Two values for one: still refused.
    two = patch(
        scim, user_id, {"op": "Replace", "path": "title", "value": [{"value": "a"}, {"value": "b"}]}
    )
    assert_error(two, 400, "invalidValue")
