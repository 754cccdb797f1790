"""Groups are offices: list/get with members, membership moves users, create/rename/delete."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent, User
from offices.models import Office
from tests.offices.factories import OfficeFactory, PhoneNumberFactory
from tests.provisioning.test_scim_users import CORE, PATCH, assert_error

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

pytestmark = pytest.mark.django_db


@pytest.fixture
def austin(company, main_office):
    return OfficeFactory(company=company, name="Austin", country="US", timezone="America/Chicago")


@pytest.fixture
def staff(scim):
    made = {}
    for name in ("ann", "bob", "cid"):
        response = scim.post(
            "Users",
            {"schemas": [CORE], "userName": f"{name}@acme.example", "displayName": name.title()},
        )
        assert response.status_code == 201, response.body
        made[name] = response.body["id"]
    return made


def members(response):
    return sorted(m["value"] for m in response.body.get("members", []))


def office_of(user_id):
    return User.objects.select_related("office").get(pk=user_id).office.name


@pytest.mark.parametrize(
    "query",
    [
        "excludedAttributes=members",
        "excludedAttributes=Members,externalId",
        "attributes=displayName",
    ],
)
def test_groups_read_without_members_do_not_load_them(scim, main_office, staff, query):
    scim.get("Groups?count=1")  # stamps the key's last use, which happens once a minute
    with CaptureQueriesContext(connection) as listed:
        page = scim.get(f"Groups?{query}")
    with CaptureQueriesContext(connection) as read:
        one = scim.get(f"Groups/{main_office.pk}?{query}")
    assert page.body["Resources"][0]["displayName"] == "HQ"
    assert "members" not in page.body["Resources"][0]
    assert one.body["displayName"] == "HQ"
    assert "members" not in one.body
    for captured in (listed, read):
        assert not [
            q for q in captured.captured_queries if '"accounts_user"."office_id"' in q["sql"]
        ]
    with CaptureQueriesContext(connection) as full:
        assert len(scim.get(f"Groups/{main_office.pk}").body["members"]) == 3
    assert len(full.captured_queries) == len(read.captured_queries) + 1


def group_patch(scim, office, *operations):
    return scim.patch(f"Groups/{office.pk}", {"schemas": [PATCH], "Operations": list(operations)})


def test_list_and_get_groups_with_members(scim, main_office, austin, staff, settings):
    listed = scim.get("Groups")
    assert listed.status_code == 200
    assert listed.body["totalResults"] == 2
    by_name = {g["displayName"]: g for g in listed.body["Resources"]}
    assert sorted(m["value"] for m in by_name["HQ"]["members"]) == sorted(staff.values())
    assert "members" not in by_name["Austin"]
    one = scim.get(f"Groups/{main_office.pk}")
    assert one.body["meta"]["resourceType"] == "Group"
    assert one.body["meta"]["location"].endswith(f"/scim/v2/Groups/{main_office.pk}")
    assert one["ETag"] == one.body["meta"]["version"]
    ann = {
        "value": staff["ann"],
        "$ref": f"{settings.PUBLIC_BASE_URL}/scim/v2/Users/{staff['ann']}",
        "type": "User",
    }
    assert ann in one.body["members"]
    # display is returned "request" (RFC 7643 §7): only when attributes names it.
    named = scim.get(f"Groups/{main_office.pk}?attributes=members.display")
    assert {"display": "Ann"} in named.body["members"]
    both = scim.get(f"Groups/{main_office.pk}?attributes=members,members.display")
    assert {**ann, "display": "Ann"} in both.body["members"]
    found = scim.get('Groups?filter=displayName eq "austin"')
    assert [g["id"] for g in found.body["Resources"]] == [str(austin.pk)]


def test_foreign_or_unknown_group_is_404(scim, other_company):
    foreign = OfficeFactory(company=other_company, name="Globex HQ", is_main=True)
    assert_error(scim.get(f"Groups/{foreign.pk}"), 404)
    assert_error(scim.get("Groups/abc"), 404)
    assert scim.get("Groups").body["totalResults"] == 1


def test_post_creates_an_office_in_the_main_offices_country_with_members(scim, main_office, staff):
    response = scim.post(
        "Groups",
        {"schemas": [GROUP], "displayName": "Berlin Sales", "members": [{"value": staff["bob"]}]},
    )
    assert response.status_code == 201, response.body
    office = Office.objects.get(pk=response.body["id"])
    assert (office.country, office.timezone) == (main_office.country, main_office.timezone)
    assert not office.is_main
    assert members(response) == [staff["bob"]]
    assert office_of(staff["bob"]) == "Berlin Sales"
    assert response["Location"] == response.body["meta"]["location"]
    event = AuditEvent.objects.get(action="office.created", target_id=str(office.pk))
    assert event.source == "scim"


def test_post_with_a_taken_name_is_409_and_with_a_foreign_member_400(
    scim, company, other_company, staff
):
    assert_error(scim.post("Groups", {"schemas": [GROUP], "displayName": "hq"}), 409, "uniqueness")
    stranger = User.objects.create(company=other_company, email="s@globex.example")
    response = scim.post(
        "Groups",
        {"schemas": [GROUP], "displayName": "New", "members": [{"value": str(stranger.pk)}]},
    )
    assert_error(response, 400, "invalidValue")
    assert not Office.objects.filter(company=company, name="New").exists()
    assert_error(scim.post("Groups", {"schemas": [GROUP]}), 400, "invalidValue")


def test_patch_add_moves_users_in_and_remove_moves_them_to_the_main_office(scim, austin, staff):
    added = group_patch(
        scim,
        austin,
        {
            "op": "add",
            "path": "members",
            "value": [{"value": staff["ann"]}, {"value": staff["bob"]}],
        },
    )
    assert added.status_code == 200, added.body
    assert members(added) == sorted([staff["ann"], staff["bob"]])
    assert office_of(staff["ann"]) == "Austin"
    removed = group_patch(
        scim, austin, {"op": "remove", "path": f'members[value eq "{staff["ann"]}"]'}
    )
    assert members(removed) == [staff["bob"]]
    assert office_of(staff["ann"]) == "HQ"
    replaced = group_patch(
        scim, austin, {"op": "replace", "path": "members", "value": [{"value": staff["cid"]}]}
    )
    assert members(replaced) == [staff["cid"]]
    assert (office_of(staff["bob"]), office_of(staff["cid"])) == ("HQ", "Austin")


def test_a_member_removed_from_the_main_office_stays_there_and_the_removal_succeeds(
    scim, main_office, staff
):
    # Everyone sits in exactly one office, and the main office is where a user removed from
    # any office goes: an identity provider retrying a refused removal would never stop.
    response = group_patch(
        scim, main_office, {"op": "remove", "path": f'members[value eq "{staff["ann"]}"]'}
    )
    assert response.status_code == 200, response.body
    assert staff["ann"] in members(response)
    assert office_of(staff["ann"]) == "HQ"
    emptied = group_patch(scim, main_office, {"op": "remove", "path": "members"})
    assert emptied.status_code == 200, emptied.body
    assert members(emptied) == sorted(staff.values())
    assert not AuditEvent.objects.filter(action="user.office_changed").exists()


def test_patch_is_atomic_across_members(scim, austin, staff):
    response = group_patch(
        scim,
        austin,
        {"op": "add", "path": "members", "value": [{"value": staff["ann"]}, {"value": "999999"}]},
    )
    assert_error(response, 400, "invalidValue")
    assert office_of(staff["ann"]) == "HQ"


def test_put_renames_and_sets_members(scim, austin, staff):
    group_patch(scim, austin, {"op": "add", "path": "members", "value": [{"value": staff["ann"]}]})
    response = scim.put(
        f"Groups/{austin.pk}",
        {"schemas": [GROUP], "displayName": "Austin TX", "members": [{"value": staff["bob"]}]},
    )
    assert response.status_code == 200, response.body
    assert response.body["displayName"] == "Austin TX"
    assert members(response) == [staff["bob"]]
    assert (office_of(staff["ann"]), office_of(staff["bob"])) == ("HQ", "Austin TX")
    assert AuditEvent.objects.filter(action="office.updated", target_id=str(austin.pk)).exists()


def test_deleting_a_group_with_members_moves_them_to_the_main_office_then_deletes_it(
    scim, company, austin, staff
):
    austin_number = PhoneNumberFactory(company=company, office=austin, number="+15125550100")
    free_number = PhoneNumberFactory(company=company, office=austin, number="+15125550101")
    User.objects.filter(pk=staff["ann"]).update(office=austin)
    austin_number.assigned_user_id = staff["ann"]
    austin_number.save()
    User.objects.filter(pk=staff["bob"]).update(office=austin)
    response = scim.delete(f"Groups/{austin.pk}")
    assert response.status_code == 204, response.body
    assert_error(scim.get(f"Groups/{austin.pk}"), 404)
    assert (office_of(staff["ann"]), office_of(staff["bob"])) == ("HQ", "HQ")
    # Numbers go to the company reserve; whoever held one keeps it, and a member who needed
    # one (bob, licensed without a number) is offered one as any move does.
    austin_number.refresh_from_db()
    free_number.refresh_from_db()
    assert (austin_number.office_id, austin_number.assigned_user_id) == (None, int(staff["ann"]))
    assert (free_number.office_id, free_number.assigned_user_id) == (None, int(staff["bob"]))
    moves = AuditEvent.objects.filter(action="user.office_changed")
    assert sorted(int(e.target_id) for e in moves) == sorted([int(staff["ann"]), int(staff["bob"])])
    assert all(e.before == {"office": "Austin"} and e.after == {"office": "HQ"} for e in moves)
    assert AuditEvent.objects.filter(action="number.moved").count() == 2
    assert AuditEvent.objects.filter(action="office.deleted", target_id=str(austin.pk)).exists()
    assert Office.objects.filter(company=company).count() == 1


def test_the_main_offices_group_with_members_is_not_deleted(scim, main_office, austin, staff):
    response = scim.delete(f"Groups/{main_office.pk}")
    assert_error(response, 400, "invalidValue")
    assert "main office" in response.body["detail"]
    assert office_of(staff["ann"]) == "HQ"


@pytest.mark.parametrize(
    "written", ["0{id}", "+{id}", " {id}", "{id} ", "{arabic}", "{id}.0", "99999999999999999999999"]
)
def test_member_ids_are_compared_as_written(scim, austin, staff, written):
    user_id = staff["ann"]
    arabic = user_id.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    value = written.format(id=user_id, arabic=arabic)
    for operation in (
        {"op": "add", "path": "members", "value": [{"value": value}]},
        {"op": "replace", "path": "members", "value": [{"value": value}]},
    ):
        response = group_patch(scim, austin, operation)
        assert_error(response, 400, "invalidValue")
        assert "no user with id" in response.body["detail"]
    put = scim.put(
        f"Groups/{austin.pk}",
        {"schemas": [GROUP], "displayName": "A", "members": [{"value": value}]},
    )
    assert_error(put, 400, "invalidValue")
    created = scim.post(
        "Groups", {"schemas": [GROUP], "displayName": "B", "members": [{"value": value}]}
    )
    assert_error(created, 400, "invalidValue")
    assert office_of(user_id) == "HQ"
    assert austin.name == Office.objects.get(pk=austin.pk).name


# --- dialects ---


def test_onelogin_lists_groups_then_patches_members(scim, austin, staff):
    listed = scim.get("Groups?startIndex=1&count=100")
    austin_id = next(g["id"] for g in listed.body["Resources"] if g["displayName"] == "Austin")
    response = scim.patch(
        f"Groups/{austin_id}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": staff["ann"]}]}],
        },
    )
    assert response.status_code == 200, response.body
    assert office_of(staff["ann"]) == "Austin"


def test_okta_renames_a_group_by_no_path_patch(scim, austin):
    response = scim.patch(
        f"Groups/{austin.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "replace", "value": {"id": str(austin.pk), "displayName": "Austin South"}}
            ],
        },
    )
    assert response.status_code == 200, response.body
    austin.refresh_from_db()
    assert austin.name == "Austin South"


def test_entra_reads_without_members_and_removes_with_a_value_array(scim, austin, staff):
    scim.patch(
        f"Groups/{austin.pk}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "Add",
                    "path": "members",
                    "value": [{"value": staff["ann"]}, {"value": staff["bob"]}],
                }
            ],
        },
    )
    read = scim.get(f"Groups/{austin.pk}?excludedAttributes=members")
    assert read.status_code == 200
    assert "members" not in read.body
    assert read.body["displayName"] == "Austin"
    response = scim.patch(
        f"Groups/{austin.pk}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": staff["ann"]}]}],
        },
    )
    assert response.status_code == 200, response.body
    assert (office_of(staff["ann"]), office_of(staff["bob"])) == ("HQ", "Austin")
    found = scim.get('Groups?filter=displayName eq "Austin"&excludedAttributes=members')
    assert found.body["totalResults"] == 1
    assert "members" not in found.body["Resources"][0]


def test_group_writes_with_if_match_compare_the_version_they_lock(scim, austin, staff):
    version = scim.get(f"Groups/{austin.pk}")["ETag"]
    add_ann = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": staff["ann"]}]}],
    }
    moved = scim.patch(f"Groups/{austin.pk}", add_ann, HTTP_IF_MATCH=version)
    assert moved.status_code == 200, moved.body
    assert office_of(staff["ann"]) == "Austin"
    add_bob = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": staff["bob"]}]}],
    }
    assert_error(scim.patch(f"Groups/{austin.pk}", add_bob, HTTP_IF_MATCH=version), 412)
    assert office_of(staff["bob"]) == "HQ"


def test_a_group_is_found_by_the_greek_name_it_was_created_with(scim):
    # Python lower-cases the final 'Σ' to 'ς', PostgreSQL's LOWER() to 'σ': compared by the
    # database on both sides, the name finds its group, and the client does not create it again.
    created = scim.post("Groups", {"schemas": [GROUP], "displayName": "ΠΩΛΗΣΕΙΣ"})
    assert created.status_code == 201, created.body
    for query in ('displayName eq "ΠΩΛΗΣΕΙΣ"', 'displayName ew "ΣΕΙΣ"'):
        found = scim.get(f"Groups?excludedAttributes=members&filter={query}").body
        assert [r["id"] for r in found["Resources"]] == [created.body["id"]], query


def test_a_group_name_may_have_up_to_256_characters_as_in_entra(scim, austin):
    longest = "Customer Success " + "x" * 239
    created = scim.post("Groups", {"schemas": [GROUP], "displayName": longest})
    assert created.status_code == 201, created.body
    assert Office.objects.get(pk=created.body["id"]).name == longest
    renamed = scim.put(f"Groups/{austin.pk}", {"schemas": [GROUP], "displayName": "A" * 256})
    assert renamed.status_code == 200, renamed.body
    too_long = scim.post("Groups", {"schemas": [GROUP], "displayName": "B" * 257})
    assert_error(too_long, 400, "invalidValue")
    assert "1–256 characters" in too_long.body["detail"]
    assert not Office.objects.filter(name="B" * 257).exists()


@pytest.mark.parametrize("value", ["18446744073709551615", "99999999999999999999999"])
def test_a_member_id_too_large_for_any_user_is_400_as_a_json_number_too(scim, austin, value):
    # Written by hand: as JSON numbers, too large for Python's json to round-trip as sent.
    body = '{"schemas": ["PATCH"], "Operations": [{"op": "add", "path": "members", "value": ID}]}'
    response = scim.patch(
        f"Groups/{austin.pk}", body.replace("PATCH", PATCH).replace("ID", f'[{{"value": {value}}}]')
    )
    assert_error(response, 400, "invalidValue")
    assert not User.objects.filter(office=austin).exists()
