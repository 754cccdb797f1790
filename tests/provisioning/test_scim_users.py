import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent, Company, ManagedBy, Plan, User, UserStatus
from tests.accounts.factories import UserFactory
from tests.apikeys.factories import make_api_key
from tests.provisioning.conftest import ScimClient

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SWITCHBOARD = "urn:ietf:params:scim:schemas:extension:switchboard:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(scim, user_name="ann@acme.example", **extra):
    body = {
        "schemas": [CORE],
        "userName": user_name,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        **extra,
    }
    response = scim.post("Users", body)
    assert response.status_code == 201, response.body
    return response.body


def patch(scim, user_id, *operations, **kw):
    return scim.patch(
        f"Users/{user_id}", {"schemas": [PATCH], "Operations": list(operations)}, **kw
    )


def assert_error(response, status, scim_type=None):
    assert response.status_code == status, response.body
    assert response["Content-Type"].startswith("application/scim+json")
    assert response.body["schemas"] == [ERROR]
    assert response.body["status"] == str(status)
    assert response.body["detail"]
    assert response.body.get("scimType") == scim_type
    for leak in ("Traceback", "psycopg", "IntegrityError", "SELECT", "accounts_user"):
        assert leak not in response.body["detail"]


# --- create, read, headers ---


def test_create_returns_201_with_location_etag_and_meta(scim, company):
    response = scim.post(
        "Users",
        {
            "schemas": [CORE, ENTERPRISE],
            "userName": "ann@acme.example",
            "externalId": "00u1",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@acme.example", "type": "work", "primary": True}],
            ENTERPRISE: {"department": "Sales", "employeeNumber": "42"},
        },
    )
    assert response.status_code == 201
    assert response["Content-Type"] == "application/scim+json"
    body = response.body
    user = User.objects.get(pk=body["id"])
    assert user.company == company
    assert user.email == "ann@acme.example"
    assert user.external_id == "00u1"
    assert user.department == "Sales"
    assert user.employee_number == "42"
    assert user.managed_by == ManagedBy.SCIM
    assert response["Location"] == f"http://127.0.0.1:8000/scim/v2/Users/{user.pk}"
    assert body["meta"]["location"] == response["Location"]
    assert body["meta"]["resourceType"] == "User"
    assert response["ETag"] == body["meta"]["version"]
    assert body["meta"]["version"].startswith('W/"')
    assert body["meta"]["created"].endswith("Z")
    event = AuditEvent.objects.get(action="user.created", target_id=str(user.pk))
    assert event.source == "scim"
    assert event.actor_label.startswith("API key 'OneLogin'")
    assert event.request_id == response["X-Request-ID"]
    assert event.client_ip == "127.0.0.1"  # the identity provider's address


def test_get_unknown_and_foreign_ids_are_scim_404(scim, other_company):
    foreign = UserFactory(company=other_company)
    for user_id in (str(foreign.pk), "999999", "abc", "9" * 40):
        assert_error(scim.get(f"Users/{user_id}"), 404)


def test_if_none_match_304_and_if_match_412(scim):
    user = new_user(scim)
    etag = user["meta"]["version"]
    assert scim.get(f"Users/{user['id']}", HTTP_IF_NONE_MATCH=etag).status_code == 304
    stale = patch(
        scim,
        user["id"],
        {"op": "replace", "path": "title", "value": "CEO"},
        HTTP_IF_MATCH='W/"stale"',
    )
    assert_error(stale, 412)
    assert User.objects.get(pk=user["id"]).title == ""
    fresh = patch(
        scim, user["id"], {"op": "replace", "path": "title", "value": "CEO"}, HTTP_IF_MATCH=etag
    )
    assert fresh.status_code == 200
    assert fresh["ETag"] != etag
    # PUT and DELETE compare under the same lock (tests/provisioning/test_scim_concurrency.py).
    replaced = scim.put(
        f"Users/{user['id']}",
        {"schemas": [CORE], "userName": user["userName"], "title": "CTO"},
        HTTP_IF_MATCH=fresh["ETag"],
    )
    assert replaced.status_code == 200, replaced.body
    assert_error(scim.delete(f"Users/{user['id']}", HTTP_IF_MATCH=fresh["ETag"]), 412)
    assert scim.delete(f"Users/{user['id']}", HTTP_IF_MATCH=replaced["ETag"]).status_code == 204


def test_if_none_match_any_or_the_tag_without_w_is_304(scim, main_office):
    """RFC 7232 §3.2: If-None-Match compares weakly (W/ aside), and * matches any current
    representation."""
    user = new_user(scim)
    for path in (f"Users/{user['id']}", f"Groups/{main_office.pk}"):
        strong = scim.get(path).body["meta"]["version"].removeprefix("W/")
        for header in ("*", strong, f'"other", {strong}'):
            response = scim.get(path, HTTP_IF_NONE_MATCH=header)
            assert response.status_code == 304, (path, header)
    assert scim.get(f"Users/{user['id']}", HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert_error(scim.get("Users/999999", HTTP_IF_NONE_MATCH="*"), 404)


def test_duplicate_user_name_is_409_uniqueness_case_insensitively(scim):
    new_user(scim, "ann@acme.example")
    response = scim.post(
        "Users", {"userName": "ANN@acme.example", "emails": [{"value": "other@acme.example"}]}
    )
    assert_error(response, 409, "uniqueness")
    assert response.body["detail"] == (
        "The userName ANN@acme.example is already taken in this company."
    )
    assert User.objects.count() == 1


# Letters Python lower-cases otherwise than PostgreSQL's LOWER() does: 'İ' (Python: 'i' and a
# combining dot), a word-final 'Σ' (Python: 'ς'); the unique indexes hold LOWER()'s.
@pytest.mark.parametrize("user_name", ["İnci.Yılmaz", "ΟΔΟΣ", "NIKOΣ@acme.example"])
def test_a_user_is_found_by_the_user_name_it_was_created_with(scim, user_name):
    created = scim.post(
        "Users",
        {"userName": user_name, "title": user_name, "emails": [{"value": "x@acme.example"}]},
    )
    assert created.status_code == 201, created.body
    user_id = created.body["id"]
    for query in (
        f'userName eq "{user_name}"',  # the page read by its own statement (selectors)
        f'userName eq "{user_name}" and active eq true',  # through the filter's Q
        f'userName sw "{user_name}"',
        f'title eq "{user_name}"',
        f'title co "{user_name[1:]}"',
    ):
        found = scim.get(f"Users?filter={query}").body
        assert [r["id"] for r in found["Resources"]] == [user_id], query
        assert found["totalResults"] == 1, query
    # What the identity provider does next when its filter finds no one: it creates again.
    again = scim.post("Users", {"userName": user_name, "emails": [{"value": "y@acme.example"}]})
    assert_error(again, 409, "uniqueness")
    assert User.objects.count() == 1


def test_a_user_name_that_finds_a_user_made_by_hand_is_taken(scim, company, main_office):
    """A user made outside SCIM has no userName: `userName eq` finds them by their sign-in
    email. That email is their userName, then: another user may not take it, or the filter
    would find two users for one userName (Entra stops at "multiple matches")."""
    made = UserFactory(company=company, email="a@acme.example", office=main_office)
    taken = scim.post(
        "Users",
        {"schemas": [CORE], "userName": "A@acme.example", "emails": [{"value": "b@acme.example"}]},
    )
    assert_error(taken, 409, "uniqueness")
    assert User.objects.count() == 1
    other = new_user(scim, "c@acme.example")
    renamed = patch(
        scim, other["id"], {"op": "replace", "path": "userName", "value": "a@acme.example"}
    )
    assert_error(renamed, 409, "uniqueness")
    found = scim.get('Users?filter=userName eq "a@acme.example"').body
    assert [r["id"] for r in found["Resources"]] == [str(made.pk)]
    # The client updates the user it found, by that userName.
    linked = patch(
        scim,
        made.pk,
        {"op": "replace", "path": "userName", "value": "a@acme.example"},
        {"op": "replace", "path": "title", "value": "Lead"},
    )
    assert linked.status_code == 200, linked.body
    assert User.objects.get(pk=made.pk).title == "Lead"


def test_email_taken_in_another_company_is_409(scim, other_company):
    UserFactory(company=other_company, email="taken@globex.example")
    response = scim.post("Users", {"userName": "taken@globex.example"})
    assert_error(response, 409, "uniqueness")
    assert response.body["detail"] == (
        "The email taken@globex.example is already used by another account."
    )


# --- filters ---


@pytest.fixture
def people(scim):
    ann = new_user(scim, "ann@acme.example", externalId="ext-Ann", title="Engineer")
    bob = new_user(
        scim,
        "bob@acme.example",
        name={"givenName": "Bob", "familyName": "Ng"},
        displayName="Bob Ng",
        title="Sales lead",
        **{ENTERPRISE: {"department": "Sales"}},
    )
    cid = new_user(scim, "cid@acme.example", name={"givenName": "Cid", "familyName": "Ng"})
    patch(scim, cid["id"], {"op": "replace", "path": "active", "value": False})
    return {"ann": ann["id"], "bob": bob["id"], "cid": cid["id"]}


def ids(scim, filter_text, **params):
    query = "&".join([f"filter={filter_text}", *(f"{k}={v}" for k, v in params.items())])
    response = scim.get(f"Users?{query}")
    assert response.status_code == 200, response.body
    return sorted(r["id"] for r in response.body["Resources"])


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('userName eq "ANN@ACME.EXAMPLE"', ["ann"]),
        ('USERNAME EQ "ann@acme.example"', ["ann"]),
        ('userName ne "ann@acme.example"', ["bob", "cid"]),
        ('userName co "ob@"', ["bob"]),
        ('userName sw "c"', ["cid"]),
        ('userName ew "@ACME.example"', ["ann", "bob", "cid"]),
        ('userName gt "b"', ["bob", "cid"]),
        ('userName le "bob@acme.example"', ["ann", "bob"]),
        ('externalId eq "ext-Ann"', ["ann"]),
        ('externalId eq "EXT-ANN"', []),  # caseExact
        ("externalId pr", ["ann"]),
        ('emails eq "bob@acme.example"', ["bob"]),
        ('emails.value co "CID"', ["cid"]),
        ('emails[type eq "work" and primary eq true].value eq "ann@acme.example"', ["ann"]),
        ('emails[type eq "home"]', []),
        ("active eq false", ["cid"]),
        ("active eq true", ["ann", "bob"]),
        ("not (active eq true)", ["cid"]),
        ('name.familyName eq "ng" and not (name.givenName eq "Bob")', ["cid"]),
        ('name.givenName eq "Ann" or name.givenName eq "Bob" and title co "sales"', ["ann", "bob"]),
        ('(name.givenName eq "Ann" or name.givenName eq "Bob") and title co "sales"', ["bob"]),
        (f'{ENTERPRISE}:department eq "sales"', ["bob"]),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@acme.example"', ["bob"]),
        ('meta.created gt "2000-01-01T00:00:00Z"', ["ann", "bob", "cid"]),
        ('meta.lastModified lt "2000-01-01T00:00:00Z"', []),
        ("title pr", ["ann", "bob"]),
        ("title eq null", ["cid"]),
    ],
)
def test_filters(scim, people, filter_text, expected):
    assert ids(scim, filter_text) == sorted(people[name] for name in expected)


def test_filter_by_id_is_exact(scim, people):
    assert ids(scim, f'id eq "{people["bob"]}"') == [people["bob"]]
    assert ids(scim, 'id eq "nope"') == []


@pytest.mark.parametrize(
    "filter_text",
    [
        'foo eq "x"',
        'userName regex "x"',
        'userName eq "x',
        "userName eq",
        '(userName eq "x"',
        "active gt true",
        'meta.created gt "yesterday"',
        'name eq "x"',
        'urn:example:unknown:2.0:User:thing eq "x"',
        "(" * 500 + 'userName eq "x"' + ")" * 500,
        " or ".join(['userName eq "x"'] * 200),
        "title eq 01",
    ],
)
def test_bad_filters_are_400_invalid_filter(scim, people, filter_text):
    assert_error(scim.get(f"Users?filter={filter_text}"), 400, "invalidFilter")


def test_filters_never_reach_another_company(scim, other_company):
    UserFactory(company=other_company, email="x@globex.example", scim_user_name="x")
    assert ids(scim, 'userName eq "x"') == []
    assert ids(scim, "userName pr") == []


def test_manually_created_user_found_by_user_name_email(scim, member):
    # The IdP's first sync matches people created by hand before SCIM was switched on.
    assert ids(scim, 'userName eq "MEMBER@acme.example"') == [str(member.pk)]


# --- paging, sorting, projection ---


def test_paging_clamps_and_caps(scim, people):
    response = scim.get("Users?startIndex=0&count=-1")
    assert response.body["totalResults"] == 3
    assert response.body["Resources"] == []
    assert response.body["startIndex"] == 1
    page = scim.get("Users?startIndex=2&count=1").body
    assert page["itemsPerPage"] == 1
    assert page["Resources"][0]["id"] == people["bob"]
    capped = scim.get("Users?count=100000").body
    assert capped["itemsPerPage"] == 3
    assert_error(scim.get("Users?count=lots"), 400, "invalidValue")


def test_max_results_cap_is_enforced(scim, company):
    User.objects.bulk_create(
        User(company=company, email=f"u{i}@acme.example", scim_user_name=f"u{i}")
        for i in range(205)
    )
    body = scim.get("Users?count=500").body
    assert body["totalResults"] == 205
    assert body["itemsPerPage"] == 200


def walk(scim, count, query=""):
    """Read /Users page after page as an identity provider does; the pages' bodies, and the SQL
    that chose each page (the statement with its LIMIT)."""
    pages, statements, start = [], [], 1
    while True:
        with CaptureQueriesContext(connection) as queries:
            body = scim.get(f"Users?startIndex={start}&count={count}{query}").body
        pages.append(body)
        ids_sql = [q["sql"] for q in queries if "LIMIT" in q["sql"].upper()]
        statements.append(ids_sql[0])
        start += count
        if start > body["totalResults"]:
            return pages, statements


def directory(company, size, prefix="u"):
    return User.objects.bulk_create(
        User(
            company=company,
            email=f"{prefix}{i}@{company.slug}.example",
            scim_user_name=f"{prefix}{i}",
        )
        for i in range(size)
    )


@pytest.mark.parametrize("count", [100, 7])
def test_a_sequential_walk_reads_each_page_after_the_last_and_equals_offset(
    scim, company, other_company, count
):
    directory(company, 125)
    directory(other_company, 50)  # ids interleaved with another company's
    directory(company, 125, prefix="v")
    pages, statements = walk(scim, count)
    assert "OFFSET" not in statements[0].upper()  # the first page starts at the start
    assert all(
        "id >" in sql.replace('"', "") and "OFFSET" not in sql.upper() for sql in statements[1:]
    )
    listed = [r["id"] for page in pages for r in page["Resources"]]
    assert listed == [
        str(pk)
        for pk in User.objects.filter(company=company).order_by("pk").values_list("pk", flat=True)
    ]
    # The same pages read in reverse, with nothing remembered, are OFFSET's: equal bodies.
    cache.clear()
    by_offset = [
        scim.get(f"Users?startIndex={1 + i * count}&count={count}").body
        for i in reversed(range(len(pages)))
    ]
    assert by_offset[::-1] == pages


def test_a_walk_keeps_the_filter_and_sort_by_keeps_offset(scim, company):
    directory(company, 30, prefix="a")
    directory(company, 30, prefix="b")
    directory(company, 30, prefix="a-late")
    pages, statements = walk(scim, 20, '&filter=userName sw "a"')
    names = [r["userName"] for page in pages for r in page["Resources"]]
    assert len(names) == 60
    assert all(name.startswith("a") for name in names)
    assert all('"id" >' in sql for sql in statements[1:])
    _, sorted_statements = walk(scim, 20, "&sortBy=userName")
    assert all("OFFSET" in sql.upper() for sql in sorted_statements[1:])


def test_a_walk_skips_no_one_when_a_user_before_it_is_deleted(scim, company):
    # On purpose, and better than OFFSET: with OFFSET, deleting user 10 between pages shifts
    # everyone left and the next page starts one too far, so user 101 is never read.
    users = directory(company, 250)
    scim.get("Users?startIndex=1&count=100")
    users[9].delete()
    page = scim.get("Users?startIndex=101&count=100").body
    assert [r["id"] for r in page["Resources"]] == [str(u.pk) for u in users[100:200]]
    assert page["totalResults"] == 249
    last = scim.get("Users?startIndex=201&count=100").body  # partial: counted, not inferred
    assert [r["id"] for r in last["Resources"]] == [str(u.pk) for u in users[200:]]
    assert last["totalResults"] == 249


def test_a_walk_is_remembered_per_company(scim, company, other_company):
    directory(company, 10)
    scim.get("Users?startIndex=1&count=5")
    _, raw = make_api_key(other_company, name="Okta")
    other = ScimClient(scim.client, raw)
    theirs = directory(other_company, 10)
    page = other.get("Users?startIndex=6&count=5").body  # nothing remembered for them: OFFSET
    assert [r["id"] for r in page["Resources"]] == [str(u.pk) for u in theirs[5:]]


def ids_of(page):
    return [r["id"] for r in page["Resources"]]


def test_interleaved_walks_of_two_clients_with_deletes_skip_and_repeat_no_one(scim, company):
    """Each client's keyset place is its own: client X reads a page of 4, two users before its
    place are deleted, client Y walks by 2; X's next page still starts after its own last
    user (not at Y's place, reached through the deletes), and Y's walk is whole too."""
    users = directory(company, 12)
    ids = [str(u.pk) for u in users]
    _, raw = make_api_key(company, name="Okta")
    other = ScimClient(scim.client, raw)
    x_seen = ids_of(scim.get("Users?startIndex=1&count=4").body)
    users[0].delete()
    users[1].delete()
    y_seen: list[str] = []
    for start in (1, 3, 5):
        y_seen += ids_of(other.get(f"Users?startIndex={start}&count=2").body)
    x_seen += ids_of(scim.get("Users?startIndex=5&count=4").body)
    y_seen += ids_of(other.get("Users?startIndex=7&count=2").body)
    users[9].delete()  # ahead of both: neither sees it
    x_seen += ids_of(scim.get("Users?startIndex=9&count=4").body)
    for start in (9, 11):
        y_seen += ids_of(other.get(f"Users?startIndex={start}&count=2").body)
    assert x_seen == ids[:9] + ids[10:]
    assert y_seen == ids[2:]  # it read the 10th user before the delete


def test_a_page_that_does_not_continue_the_clients_walk_is_offsets(scim, company):
    users = directory(company, 12)
    ids = [str(u.pk) for u in users]
    scim.get("Users?startIndex=1&count=4")
    users[0].delete()
    # A jump past the page that follows: OFFSET (the 9th user now), not a place remembered.
    assert ids_of(scim.get("Users?startIndex=9&count=2").body) == ids[9:11]
    # Read again from its start, the walk continues from there.
    assert ids_of(scim.get("Users?startIndex=1&count=4").body) == ids[1:5]
    users[1].delete()
    assert ids_of(scim.get("Users?startIndex=5&count=4").body) == ids[5:9]


def test_sort_by_and_order(scim, people):
    response = scim.get("Users?sortBy=name.givenName&sortOrder=descending")
    given = [r["name"]["givenName"] for r in response.body["Resources"]]
    assert given == ["Cid", "Bob", "Ann"]
    response = scim.get("Users?sortBy=USERNAME")
    assert [r["userName"][0] for r in response.body["Resources"]] == ["a", "b", "c"]
    assert_error(scim.get("Users?sortBy=password"), 400, "invalidValue")


def test_attributes_and_excluded_attributes(scim, people):
    body = scim.get(
        f"Users/{people['bob']}?attributes=userName,name.givenName,{ENTERPRISE}:department"
    ).body
    assert body == {
        "schemas": body["schemas"],
        "id": people["bob"],
        "userName": "bob@acme.example",
        "name": {"givenName": "Bob"},
        ENTERPRISE: {"department": "Sales"},
    }
    body = scim.get(f"Users/{people['bob']}?excludedAttributes=emails,meta,id").body
    assert "emails" not in body
    assert "meta" not in body
    assert body["id"] == people["bob"]  # returned: always
    listed = scim.get('Users?attributes=emails.value&filter=userName eq "ann@acme.example"').body
    assert listed["Resources"][0] == {
        "schemas": listed["Resources"][0]["schemas"],
        "id": people["ann"],
        "emails": [{"value": "ann@acme.example"}],
    }
    searched = scim.post(
        "Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "bob@acme.example"',
            "attributes": ["displayName"],
        },
    ).body
    assert searched["totalResults"] == 1
    assert set(searched["Resources"][0]) == {"schemas", "id", "displayName"}
    written = scim.patch(
        f"Users/{people['bob']}?attributes=title",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "VP"}]},
    )
    assert set(written.body) == {"schemas", "id", "title"}


def test_root_search_spans_resource_types(scim, people):
    response = scim.post(".search", {"filter": 'userName sw "ann"'})
    assert response.status_code == 200
    assert [r["id"] for r in response.body["Resources"]] == [people["ann"]]


# --- PUT ---


def test_put_replaces_clearing_unsent_attributes(scim):
    user = new_user(scim, title="Engineer", nickName="Annie")
    response = scim.put(
        f"Users/{user['id']}",
        {
            "schemas": [CORE],
            "id": user["id"],
            "userName": "ann@acme.example",
            "name": {"givenName": "Annabel"},
            "emails": [{"value": "annabel@acme.example", "primary": True}],
            "meta": {"created": "1999-01-01T00:00:00Z"},  # readOnly: ignored
        },
    )
    assert response.status_code == 200, response.body
    saved = User.objects.get(pk=user["id"])
    assert (saved.given_name, saved.family_name, saved.title, saved.nick_name) == (
        "Annabel",
        "",
        "",
        "",
    )
    assert saved.email == "annabel@acme.example"  # the sign-in email changes at once
    assert response.body["meta"]["created"] == user["meta"]["created"]


def test_put_with_another_id_is_400_mutability(scim):
    user = new_user(scim)
    response = scim.put(f"Users/{user['id']}", {"id": "123456", "userName": "ann@acme.example"})
    assert_error(response, 400, "mutability")


# --- PATCH ---


def test_patch_operations_in_all_forms(scim, people):
    user_id = people["ann"]
    response = patch(
        scim,
        user_id,
        {"op": "add", "path": "nickName", "value": "Annie"},
        {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "R&D"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ann.lee@acme.example"},
        {
            "op": "add",
            "path": "phoneNumbers",
            "value": [{"value": "+1 415 555 0100", "type": "mobile"}],
        },
        {"op": "replace", "value": {"name.familyName": "Lee-Smith", "title": "Lead"}},
        {"op": "remove", "path": "externalId"},
    )
    assert response.status_code == 200, response.body
    saved = User.objects.get(pk=user_id)
    assert saved.nick_name == "Annie"
    assert saved.department == "R&D"
    assert saved.email == "ann.lee@acme.example"
    assert saved.phone_numbers == [{"value": "+1 415 555 0100", "type": "mobile"}]
    assert saved.family_name == "Lee-Smith"
    assert saved.title == "Lead"
    assert saved.external_id is None
    assert response.body["emails"][0]["value"] == "ann.lee@acme.example"


def test_patch_is_atomic(scim, people):
    response = patch(
        scim,
        people["ann"],
        {"op": "replace", "path": "title", "value": "Boss"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "bob@acme.example"},
    )
    assert_error(response, 409, "uniqueness")
    assert User.objects.get(pk=people["ann"]).title == "Engineer"


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "remove"}, "noTarget"),
        ({"op": "replace", "path": "id", "value": "1"}, "mutability"),
        ({"op": "replace", "path": "meta.created", "value": "x"}, "mutability"),
        ({"op": "replace", "path": "groups", "value": []}, "mutability"),
        ({"op": "remove", "path": "userName"}, "mutability"),
        ({"op": "replace", "path": "nosuch", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "emails[type eq", "value": "x"}, "invalidPath"),
        (
            {
                "op": "replace",
                "path": 'emails[type eq "home" or primary eq false].value',
                "value": "x",
            },
            "noTarget",
        ),
        ({"op": "move", "path": "title", "value": "x"}, "invalidSyntax"),
        ({"op": "replace", "path": "active", "value": "maybe"}, "invalidValue"),
        ({"op": "replace", "path": "name", "value": "Ann"}, "invalidValue"),
    ],
)
def test_patch_errors(scim, people, operation, scim_type):
    before = User.objects.get(pk=people["ann"])
    assert_error(patch(scim, people["ann"], operation), 400, scim_type)
    after = User.objects.get(pk=people["ann"])
    assert after.updated_at == before.updated_at


def test_patch_with_too_many_operations_is_refused(scim, people):
    operations = [{"op": "replace", "path": "title", "value": str(i)} for i in range(1000)]
    assert_error(patch(scim, people["ann"], *operations), 400, "tooMany")
    assert User.objects.get(pk=people["ann"]).title == "Engineer"


def test_suspend_and_reactivate(scim, people):
    user_id = people["ann"]
    response = patch(scim, user_id, {"op": "replace", "value": {"active": False}})
    assert response.body["active"] is False
    saved = User.objects.get(pk=user_id)
    assert saved.status == UserStatus.SUSPENDED
    assert not saved.is_active  # sign-in blocked
    assert AuditEvent.objects.filter(action="user.suspended", target_id=user_id).exists()
    assert ids(scim, 'userName eq "ann@acme.example" and active eq false') == [user_id]
    response = patch(scim, user_id, {"op": "replace", "path": "active", "value": "True"})
    assert response.body["active"] is True
    assert User.objects.get(pk=user_id).status == UserStatus.ACTIVE


def test_delete_is_204_then_404(scim, people):
    response = scim.delete(f"Users/{people['bob']}")
    assert response.status_code == 204
    assert not User.objects.filter(pk=people["bob"]).exists()
    assert_error(scim.get(f"Users/{people['bob']}"), 404)
    assert_error(scim.delete(f"Users/{people['bob']}"), 404)
    assert AuditEvent.objects.filter(action="user.deleted", target_id=people["bob"]).exists()


def test_manager_must_be_in_the_company(scim, people, other_company):
    foreign = UserFactory(company=other_company)
    response = patch(
        scim,
        people["ann"],
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": str(foreign.pk)}},
    )
    assert_error(response, 400, "invalidValue")
    response = patch(
        scim,
        people["ann"],
        {"op": "replace", "path": f"{ENTERPRISE}:manager.value", "value": people["bob"]},
    )
    assert response.status_code == 200
    assert response.body[ENTERPRISE]["manager"]["value"] == people["bob"]
    assert ids(scim, f'{ENTERPRISE}:manager.value eq "{people["bob"]}"') == [people["ann"]]


def test_the_manager_display_name_is_returned_when_asked_for(scim, people, settings):
    # readOnly and returned "request" (RFC 7643 §7): a client gets back what it wrote.
    manager = {
        "value": people["bob"],
        "$ref": f"{settings.PUBLIC_BASE_URL}/scim/v2/Users/{people['bob']}",
    }
    response = patch(
        scim, people["ann"], {"op": "add", "path": f"{ENTERPRISE}:manager", "value": manager}
    )
    assert response.body[ENTERPRISE]["manager"] == manager
    assert scim.get(f"Users/{people['ann']}").body[ENTERPRISE]["manager"] == manager
    named = scim.get(f"Users/{people['ann']}?attributes={ENTERPRISE}:manager.displayName")
    assert named.body[ENTERPRISE] == {
        "manager": {"displayName": str(User.objects.get(pk=people["bob"]))}
    }
    schema = scim.get(f"Schemas/{ENTERPRISE}").body
    manager_schema = next(a for a in schema["attributes"] if a["name"] == "manager")
    display_name = next(a for a in manager_schema["subAttributes"] if a["name"] == "displayName")
    assert (display_name["mutability"], display_name["returned"]) == ("readOnly", "request")


# --- bad input ---


@pytest.mark.parametrize(
    ("body", "content_type", "status", "scim_type"),
    [
        ("{not json", "application/scim+json", 400, "invalidSyntax"),
        ('["a list"]', "application/scim+json", 400, "invalidSyntax"),
        ('{"userName": "x@acme.example"}', "text/plain", 415, None),
        ('{"userName": 42}', "application/json", 400, "invalidValue"),
        ('{"userName": "x@acme.example", "name": "X"}', "application/json", 400, "invalidValue"),
        (
            '{"userName": "x@acme.example", "active": "sometimes"}',
            "application/json",
            400,
            "invalidValue",
        ),
        ('{"userName": "not-an-email"}', "application/json", 400, "invalidValue"),
        (
            '{"userName": "x", "emails": [{"value": "nope@"}]}',
            "application/json",
            400,
            "invalidValue",
        ),
        (
            json.dumps({"userName": "x" * 10000 + "@acme.example"}),
            "application/json",
            400,
            "invalidValue",
        ),
        (
            '{"schemas": ["urn:evil:schema"], "userName": "x@acme.example"}',
            "application/json",
            400,
            "invalidValue",
        ),
        (
            '{"userName": "x@acme.example", "urn:evil:ext": {}}',
            "application/json",
            400,
            "invalidValue",
        ),
        (
            json.dumps({"userName": "x@acme.example", SWITCHBOARD: {"licenseType": "platinum"}}),
            "application/json",
            400,
            "invalidValue",
        ),
        (
            json.dumps(
                {
                    "userName": "x@acme.example",
                    "phoneNumbers": [
                        {"type": "work", "value": "+14155550100", "primary": True},
                        {"type": "mobile", "value": "+14155550199", "primary": True},
                    ],
                }
            ),
            "application/json",
            400,
            "invalidValue",
        ),
        *(
            (
                json.dumps({"userName": "x@acme.example", "phoneNumbers": phones}),
                "application/json",
                400,
                "invalidValue",
            )
            for phones in (
                [{"value": f"+1415555{i:04d}"} for i in range(21)],
                [{"value": "5" * 51, "type": "home"}],
                [{"value": "+14155550100", "type": 5}],
                [{"value": "+14155550100", "primary": "maybe"}],
                [{"value": 14155550100}],
                ["+14155550100"],
            )
        ),
    ],
)
def test_bad_bodies(scim, body, content_type, status, scim_type):
    response = scim.post("Users", body, content_type=content_type)
    assert_error(response, status, scim_type)
    assert User.objects.count() == 0


def test_body_over_one_megabyte_is_413(scim):
    body = json.dumps({"userName": "x@acme.example", "title": "x" * (1024 * 1024)})
    assert_error(scim.post("Users", body), 413)
    assert User.objects.count() == 0


# --- auth, plans, routing ---


def test_missing_or_bad_key_is_401_with_www_authenticate(client, api_key):
    for header in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}):
        response = client.get("/scim/v2/Users", **header)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response["Content-Type"] == "application/scim+json"
        assert json.loads(response.content)["status"] == "401"


def test_non_enterprise_company_is_403(scim, company):
    Company.objects.filter(pk=company.pk).update(plan=Plan.PRO)
    company.plan = Plan.PRO
    response = scim.post("Users", {"userName": "x@acme.example"})
    assert_error(response, 403)
    assert "Enterprise" in response.body["detail"]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "Nope", 404),
        ("get", "Users/1/extra", 404),
        ("delete", "Users", 405),
        ("put", "ServiceProviderConfig", 405),
        ("post", "Schemas", 405),
        ("get", "Me", 501),
        ("post", "Bulk", 501),
        ("get", "Schemas/urn:nope", 404),
    ],
)
def test_routing_errors_are_scim(scim, method, path, status):
    response = scim._call(method, path, {} if method in {"post", "put"} else None)
    assert_error(response, status)
