"""Identity-provider workers writing the same resource at once, on PostgreSQL."""

import json
import logging
import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from core.request_context import RequestIdLogFilter
from tests.apikeys.factories import make_api_key
from tests.provisioning.test_scim_users import CORE, PATCH, SWITCHBOARD


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


def assert_logged_as_one_info_line_each(caplog, count: int) -> None:
    """Expected conflicts: one INFO line each, with its request id, no traceback, no warning."""
    lines = [r for r in caplog.records if r.name == "provisioning.scim.views"]
    assert len(lines) == count, [r.getMessage() for r in lines]
    assert all(r.levelno == logging.INFO and r.request_id not in ("", "-") for r in lines)
    assert len({r.request_id for r in lines}) == count
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]


@pytest.mark.django_db(transaction=True)
def test_parallel_creates_of_one_user_name_give_one_201_and_nine_409(company, caplog):
    caplog.handler.addFilter(RequestIdLogFilter())  # as on the real handlers
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
    assert_logged_as_one_info_line_each(caplog, 9)


@pytest.mark.django_db(transaction=True)
def test_parallel_writes_holding_one_etag_give_one_success_and_412s(company, caplog):
    """RFC 7644 §3.14: If-Match is checked and the write made under one lock, so of several
    clients holding the same version, exactly one writes; the others get 412, nothing lost."""
    caplog.handler.addFilter(RequestIdLogFilter())
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
    assert_logged_as_one_info_line_each(caplog, 7)


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


# --- groups: offices whose members identity providers change at once ---


def scim_users(company, count: int, prefix: str) -> tuple[list[str], dict]:
    """`count` users created over SCIM in the main office, and the key's header."""
    _, raw = make_api_key(company)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    ids = []
    for n in range(count):
        created = Client().post(
            "/scim/v2/Users",
            json.dumps({"schemas": [CORE], "userName": f"{prefix}{n}@acme.example"}),
            content_type="application/scim+json",
            HTTP_AUTHORIZATION=auth["HTTP_AUTHORIZATION"],
        )
        assert created.status_code == 201, created.content
        ids.append(json.loads(created.content)["id"])
    return ids, auth


def patch_group(client, office, auth, *operations):
    return client.patch(
        f"/scim/v2/Groups/{office.pk}",
        json.dumps({"schemas": [PATCH], "Operations": list(operations)}),
        content_type="application/scim+json",
        **auth,
    )


def offices_of(ids) -> dict[str, str]:
    users = User.objects.filter(pk__in=ids).values_list("pk", "office__name")
    return {str(pk): name for pk, name in users}


@pytest.fixture
def offices(company):
    from tests.offices.factories import OfficeFactory

    hq = OfficeFactory(company=company, name="HQ", is_main=True, country="US")
    austin = OfficeFactory(company=company, name="Austin", country="US")
    boston = OfficeFactory(company=company, name="Boston", country="US")
    return hq, austin, boston


@pytest.mark.django_db(transaction=True)
def test_parallel_member_adds_to_one_group_keep_every_member(company, offices):
    """Entra and Okta send a burst of adds to one group, without If-Match: each is applied to
    the members as the one before left them, so all eight join."""
    _, austin, _ = offices
    ids, auth = scim_users(company, 8, "add")

    def add(client, n):
        operation = {"op": "add", "path": "members", "value": [{"value": ids[n]}]}
        return patch_group(client, austin, auth, operation).status_code

    assert at_once(8, add) == [200] * 8
    assert offices_of(ids) == dict.fromkeys(ids, "Austin")
    listed = json.loads(Client().get(f"/scim/v2/Groups/{austin.pk}", **auth).content)
    assert sorted(m["value"] for m in listed["members"]) == sorted(ids)


@pytest.mark.django_db(transaction=True)
def test_parallel_member_removes_from_one_group_remove_every_member(company, offices):
    _, austin, _ = offices
    ids, auth = scim_users(company, 8, "remove")
    User.objects.filter(pk__in=ids).update(office=austin)

    def remove(client, n):
        # Half in OneLogin's and Okta's form, half in Entra's (a value list).
        operation = (
            {"op": "remove", "path": f'members[value eq "{ids[n]}"]'}
            if n % 2
            else {"op": "Remove", "path": "members", "value": [{"value": ids[n]}]}
        )
        return patch_group(client, austin, auth, operation).status_code

    assert at_once(8, remove) == [200] * 8
    assert offices_of(ids) == dict.fromkeys(ids, "HQ")


@pytest.mark.django_db(transaction=True)
def test_a_users_office_change_racing_group_writes_ends_as_some_serial_order(company, offices):
    """A user's own officeName PATCH and group PATCHes touching the user, at once: every
    request succeeds (no deadlock between the user's lock and the group's) and the user ends
    where some serial order of them puts them, never moved back by a group write that read
    its members before."""
    hq, austin, boston = offices
    ids, auth = scim_users(company, 3, "mover")
    user, bystander, joiner = ids
    for _round in range(5):
        User.objects.filter(pk=user).update(office=austin)
        User.objects.filter(pk__in=[bystander, joiner]).update(office=hq)

        def race(client, n):
            if n == 0:  # the user moves themselves to Boston
                operation = {
                    "op": "replace",
                    "path": f"{SWITCHBOARD}:officeName",
                    "value": "Boston",
                }
                return patch_user(client, user, operation, **auth).status_code
            if n == 1:  # Austin's group loses the user: they are in Boston or (first) HQ
                operation = {"op": "remove", "path": f'members[value eq "{user}"]'}
                return patch_group(client, austin, auth, operation).status_code
            if n == 2:  # Boston's group gains someone else
                operation = {"op": "add", "path": "members", "value": [{"value": joiner}]}
                return patch_group(client, boston, auth, operation).status_code
            # Austin's group gains someone else: the user's move out is not undone
            operation = {"op": "add", "path": "members", "value": [{"value": bystander}]}
            return patch_group(client, austin, auth, operation).status_code

        assert at_once(4, race) == [200] * 4
        # Serial orders: the removal before the move ends in Boston (HQ, then Boston); after
        # it, the user is no longer in Austin and stays in Boston.
        assert offices_of(ids) == {user: "Boston", bystander: "Austin", joiner: "Boston"}


@pytest.mark.django_db(transaction=True)
def test_a_users_office_change_racing_a_group_add_of_the_user_never_deadlocks(company, offices):
    """The user's PATCH locks the user, then holds the office it moves them to; the group's
    locks the office, then the user: they must not wait on each other, even when both move
    the user into the same office. Either order is a result."""
    hq, austin, _ = offices
    (user,), auth = scim_users(company, 1, "both")
    seen = set()
    for moved_to in ["Austin", "Boston"] * 4:
        User.objects.filter(pk=user).update(office=hq)

        def race(client, n, moved_to=moved_to):
            if n == 0:
                operation = {
                    "op": "replace",
                    "path": f"{SWITCHBOARD}:officeName",
                    "value": moved_to,
                }
                return patch_user(client, user, operation, **auth).status_code
            operation = {"op": "add", "path": "members", "value": [{"value": user}]}
            return patch_group(client, austin, auth, operation).status_code

        assert at_once(2, race) == [200, 200]
        seen.add(offices_of([user])[user])
    assert seen <= {"Austin", "Boston"}


@pytest.mark.django_db(transaction=True)
def test_a_group_delete_racing_moves_into_and_out_of_its_office_loses_no_one(company, offices):
    """Deleting a group moves its members to the main office as they stand when it holds the
    office: a user moving in at the same moment is either moved on to the main office or told
    the office no longer exists; one moving out keeps their new office. No deadlock, no one
    left in a deleted office."""
    hq, _, boston = offices
    ids, auth = scim_users(company, 3, "closing")
    for _round in range(3):
        closing = type(boston).objects.create(company=company, name="Closing", country="US")
        mover_in, mover_out, stayer = ids
        User.objects.filter(pk=mover_in).update(office=hq)
        User.objects.filter(pk__in=[mover_out, stayer]).update(office=closing)

        def race(client, n, closing=closing, mover_in=mover_in, mover_out=mover_out):
            if n == 0:
                return n, client.delete(f"/scim/v2/Groups/{closing.pk}", **auth).status_code
            who, where = (mover_in, "Closing") if n == 1 else (mover_out, "Boston")
            operation = {"op": "replace", "path": f"{SWITCHBOARD}:officeName", "value": where}
            return n, patch_user(client, who, operation, **auth).status_code

        statuses = dict(at_once(3, race))
        assert (statuses[0], statuses[2]) == (204, 200), statuses
        assert statuses[1] in {200, 400}, statuses  # moved, then on; or the office was gone
        assert offices_of(ids) == {mover_in: "HQ", mover_out: "Boston", stayer: "HQ"}
        assert not type(boston).objects.filter(pk=closing.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_group_created_with_members_racing_their_own_writes_never_deadlocks(company, offices):
    """A new group locks its members before the company's row (which creating the office
    locks): a member's own write commits holding the member and then needs that row."""
    ids, auth = scim_users(company, 2, "founding")
    for round_ in range(4):
        name = f"Founded {round_}"

        def race(client, n, name=name):
            if n == 0:
                body = {"displayName": name, "members": [{"value": pk} for pk in ids]}
                created = client.post(
                    "/scim/v2/Groups",
                    json.dumps(body),
                    content_type="application/scim+json",
                    **auth,
                )
                return n, created.status_code
            operation = (
                {"op": "replace", "path": "title", "value": f"Founder of {name}"}
                if n == 1
                else {"op": "replace", "path": f"{SWITCHBOARD}:officeName", "value": "Boston"}
            )
            return n, patch_user(client, ids[n - 1], operation, **auth).status_code

        assert dict(at_once(3, race)) == {0: 201, 1: 200, 2: 200}
        placed = offices_of(ids)
        assert placed[ids[0]] == name
        assert placed[ids[1]] in {name, "Boston"}
