"""Hostile requests the generated ones (test_scim_fuzz) do not reach: numbers past the database's
range, dates that do not exist, text PostgreSQL cannot keep, search bodies of the wrong types.
Each is a SCIM 400 that changes nothing, never a 500."""

import json

import pytest

from tests.provisioning.test_scim_fuzz import state
from tests.provisioning.test_scim_users import CORE, ENTERPRISE, assert_error, new_user, patch

pytestmark = pytest.mark.django_db

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def ann(scim):
    return new_user(scim)["id"]


@pytest.mark.parametrize("path", ["Users", "Groups", ""])
def test_a_start_index_past_what_the_database_can_skip_is_refused(scim, ann, path):
    response = scim.get(f"{path}?startIndex=99999999999999999999999")
    assert_error(response, 400, "invalidValue")
    assert "startIndex" in response.body["detail"]
    searched = scim.post(
        "Users/.search", {"schemas": [SEARCH], "startIndex": 2**63, "filter": "userName pr"}
    )
    assert_error(searched, 400, "invalidValue")
    # Far past the end, but a number the database can skip: an empty page, as before.
    page = scim.get(f"Users?startIndex={2**62}").body
    assert (page["totalResults"], page["Resources"]) == (1, [])


@pytest.mark.parametrize(
    "moment", ["2024-13-45T00:00:00Z", "2024-02-30T10:00:00Z", "2024-01-01T25:00:00Z"]
)
def test_a_date_that_does_not_exist_is_an_invalid_filter(scim, ann, moment):
    for attribute in ("meta.created", "meta.lastModified"):
        response = scim.get(f'Users?filter={attribute} gt "{moment}"')
        assert_error(response, 400, "invalidFilter")
        assert moment in response.body["detail"]


def send(scim, method, path, raw):
    return scim._call(method, path, raw)


@pytest.mark.parametrize(
    ("method", "path", "raw", "scim_type"),
    [
        # NUL: valid JSON, but PostgreSQL text cannot hold it.
        ("post", "Users", '{"userName": "nul@acme.example", "title": "a\\u0000b"}', "invalidValue"),
        ("post", "Users", '{"userName": "nul@acme.example", "\\u0000": 1}', "invalidValue"),
        ("post", "Groups", '{"displayName": "Ops\\u0000"}', "invalidValue"),
        ("patch", "Users/{ann}", '{"Operations": [{"op": "replace", "path": "title", '
         '"value": "\\u0000"}]}', "invalidValue"),
        ("put", "Users/{ann}", '{"userName": "ann@acme.example", "name": {"givenName": '
         '"\\u0000"}}', "invalidValue"),
        # A lone surrogate: no UTF-8 for it.
        ("post", "Users", '{"userName": "s@acme.example", "title": "\\ud800"}', "invalidSyntax"),
        ("patch", "Users/{ann}", '{"Operations": [{"op": "replace", "path": "title", '
         '"value": "\\udfff"}]}', "invalidSyntax"),
        # Not JSON (RFC 8259 has no NaN or Infinity).
        ("post", "Users", '{"userName": "n@acme.example", "externalId": NaN}', "invalidSyntax"),
        ("post", "Users", '{"userName": "n@acme.example", "title": Infinity}', "invalidSyntax"),
        # Nested past what any SCIM body needs (Python's recursion would give up near 1000).
        ("post", "Users", "[" * 1000 + "]" * 1000, "invalidSyntax"),
        ("patch", "Users/{ann}", '{"Operations": [{"op": "replace", "path": "title", "value": '
         + "[" * 40 + "]" * 40 + "}]}", "invalidSyntax"),
    ],
)  # fmt: skip
def test_text_the_database_cannot_keep_is_refused_and_changes_nothing(
    scim, ann, method, path, raw, scim_type
):
    before = state()
    response = send(scim, method, path.format(ann=ann), raw)
    assert_error(response, 400, scim_type)
    assert state() == before


@pytest.mark.parametrize("value", ['"\\u0000"', '"a\\u0000"', '"\\ud800"', '"\\udc00x"'])
def test_a_filter_value_the_database_cannot_compare_is_an_invalid_filter(scim, ann, value):
    for attribute in (
        "title",
        "userName",
        "emails.value",
        "externalId",
        f"{ENTERPRISE}:department",
    ):
        assert_error(scim.get(f"Users?filter={attribute} eq {value}"), 400, "invalidFilter")
    assert_error(scim.get(f"Groups?filter=displayName co {value}"), 400, "invalidFilter")


@pytest.mark.parametrize(
    "body",
    [
        {"attributes": 5},
        {"excludedAttributes": {"a": 1}},
        {"attributes": ["userName", 7]},
        {"excludedAttributes": [None]},
        {"sortBy": ["userName"]},
        {"filter": 12},
    ],
)
def test_a_search_body_of_the_wrong_types_is_refused(scim, ann, body):
    for path in ("Users/.search", "Groups/.search", ".search"):
        response = scim.post(path, {"schemas": [SEARCH], **body})
        assert response.status_code == 400, (path, response.body)
        assert response.body["scimType"] in {"invalidValue", "invalidFilter"}


def test_a_search_body_with_lists_of_names_still_projects(scim, ann):
    response = scim.post(
        "Users/.search",
        {"schemas": [SEARCH], "attributes": ["userName", "name.givenName"], "count": 1},
    )
    assert response.status_code == 200, response.body
    assert response.body["Resources"][0]["name"] == {"givenName": "Ann"}
    assert "emails" not in response.body["Resources"][0]
    assert json.dumps(response.body)
    assert CORE in response.body["Resources"][0]["schemas"]


def test_a_write_after_a_refused_one_still_works(scim, ann):
    assert_error(patch(scim, ann, {"op": "replace", "path": "title", "value": "\u0000"}), 400,
                 "invalidValue")  # fmt: skip
    response = patch(scim, ann, {"op": "replace", "path": "title", "value": "Lead"})
    assert response.status_code == 200, response.body
    assert response.body["title"] == "Lead"


@pytest.mark.parametrize("spelling", ["+{id}", "0{id}", " {id}", "{id} ", "arabic-indic"])
def test_an_id_is_matched_as_written_not_as_any_spelling_of_its_number(scim, ann, spelling):
    """RFC 7643 §3.1: an id is a string compared exactly: '+5', '05' or '٥' (all 5 to Python's
    int()) are no id of ours."""
    if spelling == "arabic-indic":
        wrong = "".join(chr(0x660 + int(digit)) for digit in ann)
    else:
        wrong = spelling.format(id=ann)
    assert_error(scim.get(f"Users/{wrong}"), 404)
    assert_error(patch(scim, wrong, {"op": "replace", "path": "title", "value": "x"}), 404)
    assert_error(scim.get(f"Groups/{wrong}"), 404)
    found = scim.get(f'Users?filter=id eq "{wrong}"').body
    assert found["totalResults"] == 0
    assert scim.get(f'Users?filter=id eq "{ann}"').body["totalResults"] == 1
