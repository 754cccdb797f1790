"""Identity-provider workers writing the same resource at once, on PostgreSQL."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from tests.apikeys.factories import make_api_key
from tests.provisioning.test_scim_users import CORE, PATCH


def at_once(count: int, request) -> list:
    """`request(client, n)` from `count` threads released together; their answers."""
    start = threading.Barrier(count)
    answers: list = []

    def run(n: int) -> None:
        try:
            client = Client()
            start.wait()
            answers.append(request(client, n))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def created_user(company, user_name: str) -> tuple[str, dict]:
    """A user created over SCIM with a new key of `company`: its id and the key's header."""
    _, raw = make_api_key(company)
    created = Client().post(
        "/scim/v2/Users",
        json.dumps({"schemas": [CORE], "userName": user_name}),
        content_type="application/scim+json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    return json.loads(created.content)["id"], {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def patch_user(client, user_id: str, operation: dict, **headers):
    return client.patch(
        f"/scim/v2/Users/{user_id}",
        json.dumps({"schemas": [PATCH], "Operations": [operation]}),
        content_type="application/scim+json",
        **headers,
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_creates_of_one_user_name_give_one_201_and_nine_409(company):
    _, raw = make_api_key(company)
    body = json.dumps(
        {
            "schemas": [CORE],
            "userName": "race@acme.example",
            "emails": [{"value": "race@acme.example", "primary": True}],
        }
    )

    def create(client, n):
        response = client.post(
            "/scim/v2/Users",
            body,
            content_type="application/scim+json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        return response.status_code, json.loads(response.content)

    answers = at_once(10, create)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * 9, answers
    assert all(body.get("scimType") == "uniqueness" for status, body in answers if status == 409)
    assert (
        User.objects.filter(company=company, scim_user_name__lower="race@acme.example").count() == 1
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_writes_holding_one_etag_give_one_success_and_412s(company):
    """RFC 7644 §3.14: If-Match is checked and the write made under one lock, so of several
    clients holding the same version, exactly one writes; the others get 412, nothing lost."""
    user_id, auth = created_user(company, "etag@acme.example")
    version = Client().get(f"/scim/v2/Users/{user_id}", **auth)["ETag"]

    def rename(client, n):
        operation = {"op": "replace", "path": "title", "value": f"t{n}"}
        response = patch_user(client, user_id, operation, HTTP_IF_MATCH=version, **auth)
        return response.status_code, n

    answers = at_once(8, rename)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [412] * 7, answers
    (winner,) = [n for status, n in answers if status == 200]
    assert User.objects.get(pk=user_id).title == f"t{winner}"


@pytest.mark.django_db(transaction=True)
def test_parallel_patches_without_if_match_lose_no_update(company):
    """A PATCH applies its operations to the user as it stands under the lock it writes with:
    eight clients adding an email each at once leave all eight (none computed from a copy
    another one has changed since)."""
    user_id, auth = created_user(company, "many@acme.example")

    def add_email(client, n):
        operation = {"op": "add", "path": "emails", "value": [{"value": f"e{n}@acme.example"}]}
        return patch_user(client, user_id, operation, **auth).status_code

    assert at_once(8, add_email) == [200] * 8
    emails = {e["value"] for e in User.objects.get(pk=user_id).email_addresses}
    assert {f"e{n}@acme.example" for n in range(8)} <= emails


@pytest.mark.django_db
def test_a_create_checks_its_seat_without_counting_users(scim, company):
    # Every create of a company waits for the seat row's lock, held until COMMIT. The check is
    # one read of the row (the database keeps `used`): its cost does not grow with the company.
    from django.test.utils import CaptureQueriesContext

    from accounts.models import LicenseSeats

    seats, users = LicenseSeats._meta.db_table, User._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        created = scim.post("Users", {"schemas": [CORE], "userName": "seated@acme.example"})
    assert created.status_code == 201, created.body
    statements = [query["sql"] for query in queries.captured_queries]
    checks = [sql for sql in statements if seats in sql]
    assert len(checks) == 1, checks
    assert "FOR UPDATE" in checks[0]
    assert not [sql for sql in statements if "COUNT(" in sql.upper() and users in sql]
    assert User.objects.get(scim_user_name="seated@acme.example").license_type == "talk"
    assert LicenseSeats.objects.get(company=company, license_type="talk").used == 1
