"""The API keys each process keeps (apikeys/key_cache.py): no query for a key read recently, and
still every revocation, plan, scope or policy change holds from the very next request.

A test here changes a row "as another process would see it": this process keeps the entries it
held before the change (another process's memory gets no signal) and learns of it only through
the shared keys epoch, set when the change commits. With commit=False the new epoch never comes:
those tests show the entry would be used, so the others can fail.
"""

import functools
import logging
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.cache import cache, caches
from django.core.management import call_command
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.audit import SYSTEM, Source
from accounts.models import Company, Plan, User
from accounts.services import update_company
from apikeys import key_cache, selectors
from apikeys.models import APIKey, Scope
from apikeys.services import AuthenticationFailed, authenticate, revoke_api_key
from approvals.models import ProvisioningPolicy
from tests import epochs
from tests.apikeys.factories import age_cached_keys, make_api_key, tampered
from tests.approvals.factories import policy
from tests.processes import free_port

pytestmark = pytest.mark.django_db

FILTER = 'Users?filter=userName eq "nobody"'


changed_elsewhere = functools.partial(epochs.changed_elsewhere, key_cache._cache)


def key_reads(queries):
    table = connection.ops.quote_name(APIKey._meta.db_table)
    return [q["sql"] for q in queries.captured_queries if f"FROM {table}" in q["sql"]]


def cached(scim, api_key):
    """Two requests: the first reads the key (and stamps its use), the second uses the entry."""
    assert scim.get(FILTER).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert scim.get(FILTER).status_code == 200
    assert key_reads(queries) == []
    assert api_key.prefix in key_cache._entries


def test_a_scim_request_with_a_key_read_recently_does_not_read_it_again(scim, api_key):
    with CaptureQueriesContext(connection) as first:
        assert scim.get(FILTER).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert scim.get(FILTER).status_code == 200
    assert len(key_reads(first)) == 1
    assert key_reads(second) == []
    assert len(second) == len(first) - 2  # the key's read and its last-used stamp


def test_a_key_read_recently_costs_no_query_and_a_new_instance_each_time(company):
    _, raw_key = make_api_key(company)
    first = authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    with CaptureQueriesContext(connection) as queries:
        second = authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    assert queries.captured_queries == []
    assert second == first
    assert second is not first
    assert second.company is not first.company  # nothing one request does reaches another
    assert second.scopes is not first.scopes
    assert second.company.slug == "acme"
    assert second.last_used_at == first.last_used_at is not None


@pytest.mark.parametrize("door", ["service", "admin", "command"])
def test_a_revocation_refuses_the_next_request_in_every_process(
    scim, api_key, company, company_admin, client, door
):
    cached(scim, api_key)
    with changed_elsewhere():
        if door == "service":
            revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)
        elif door == "admin":
            client.force_login(company_admin)
            client.post(reverse("admin:apikeys_apikey_revoke", args=[api_key.pk]))
        else:
            call_command("revoke_api_key", "--company", "acme", "--prefix", api_key.prefix)
    assert APIKey.objects.get(pk=api_key.pk).revoked_at is not None
    assert api_key.prefix in key_cache._entries  # still held, under the old epoch
    assert scim.get(FILTER).status_code == 401


def test_without_the_new_epoch_the_held_entry_would_be_used(scim, api_key, company_admin):
    cached(scim, api_key)
    with changed_elsewhere(commit=False):
        revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)
    assert scim.get(FILTER).status_code == 200  # what the epoch, and the tests above, prevent


def test_the_process_that_makes_a_change_forgets_its_entries_at_once(scim, api_key, company_admin):
    cached(scim, api_key)
    revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)  # no commit yet
    assert key_cache._entries == {}
    assert scim.get(FILTER).status_code == 401


def test_a_write_without_signals_takes_effect_with_its_new_epoch(scim, api_key):
    cached(scim, api_key)
    APIKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    assert scim.get(FILTER).status_code == 200  # no signal, no new epoch: the entry is used
    with changed_elsewhere():
        key_cache.keys_changed()  # what such a write must call
    assert scim.get(FILTER).status_code == 401


def test_another_process_s_new_epoch_replaces_every_entry(scim, api_key):
    cached(scim, api_key)
    APIKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    cache.set(key_cache.EPOCH_KEY, "set by another process", timeout=None)
    assert scim.get(FILTER).status_code == 401


def test_an_entry_older_than_max_age_is_read_again(scim, api_key):
    cached(scim, api_key)
    APIKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())  # its epoch was lost
    age_cached_keys(key_cache.MAX_AGE - 1)
    assert scim.get(FILTER).status_code == 200
    age_cached_keys(1)
    assert scim.get(FILTER).status_code == 401


def test_expiry_is_checked_on_every_request_from_the_entry(company, monkeypatch):
    api_key, raw_key = make_api_key(company, expires_at=timezone.now() + timedelta(hours=1))
    authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr("apikeys.services.timezone.now", lambda: later)
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    assert api_key.prefix in key_cache._entries


def test_a_plan_downgrade_is_403_on_the_next_request(scim, api_key, company):
    cached(scim, api_key)
    with changed_elsewhere():
        update_company(company=company, plan=Plan.PRO, actor=SYSTEM, source=Source.CLI)
    assert scim.get(FILTER).status_code == 403


def test_a_scope_taken_away_is_403_on_the_next_request(company, client):
    api_key, raw_key = make_api_key(company, scopes=[Scope.API_READ, Scope.SCIM])
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    assert client.get("/api/v1/users/", **bearer).status_code == 200
    assert client.get("/api/v1/users/", **bearer).status_code == 200
    assert api_key.prefix in key_cache._entries
    key = APIKey.objects.get(pk=api_key.pk)
    key.scopes = [Scope.SCIM]
    with changed_elsewhere():
        key.save()
    assert client.get("/api/v1/users/", **bearer).status_code == 403


def test_a_policy_change_makes_the_next_create_wait_for_approval(scim, api_key, company):
    cached(scim, api_key)
    with changed_elsewhere():
        policy(company, "create")
    created = scim.post("Users", {"userName": "waits@acme.example"})
    assert created.status_code == 202, created.body
    assert User.objects.get(scim_user_name="waits@acme.example").status == "pending"


def test_the_approvers_digest_stamp_keeps_the_entries(scim, api_key, company):
    row = ProvisioningPolicy.objects.create(company=company)
    cached(scim, api_key)
    row.last_digest_at = timezone.now()
    row.save(update_fields=["last_digest_at"])
    assert api_key.prefix in key_cache._entries


@pytest.mark.parametrize("deleted", ["key", "company"])
def test_a_deleted_key_or_company_is_401_on_the_next_request(scim, api_key, company, deleted):
    cached(scim, api_key)
    with changed_elsewhere():
        (APIKey.objects.get(pk=api_key.pk) if deleted == "key" else company).delete()
    assert not Company.objects.filter(pk=company.pk).exists() or deleted == "key"
    assert scim.get(FILTER).status_code == 401


@override_settings(API_KEY_FAILURE_LIMIT=3)
def test_a_wrong_secret_is_refused_and_counted_with_its_prefix_held(scim, api_key):
    cached(scim, api_key)
    wrong = tampered(api_key.raw)
    for _ in range(2):
        assert scim.get(FILTER, HTTP_AUTHORIZATION=f"Bearer {wrong}").status_code == 401
    assert scim.get(FILTER).status_code == 200
    assert scim.get(FILTER, HTTP_AUTHORIZATION=f"Bearer {wrong}").status_code == 401  # the 3rd
    blocked = scim.get(FILTER, HTTP_AUTHORIZATION=f"Bearer {wrong}")  # from a blocked client
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert scim.get(FILTER).status_code == 200  # the right key is still served
    assert api_key.prefix in key_cache._entries


def test_without_an_epoch_the_key_is_read_and_a_new_epoch_added(scim, api_key):
    cached(scim, api_key)
    cache.delete(key_cache.EPOCH_KEY)  # the shared cache restarted, or evicted it
    with CaptureQueriesContext(connection) as queries:
        assert scim.get(FILTER).status_code == 200
    assert len(key_reads(queries)) == 1
    epoch = cache.get(key_cache.EPOCH_KEY)
    assert key_cache._entries[api_key.prefix].epoch == epoch


def test_the_entry_is_kept_only_when_this_process_added_the_epoch(company, monkeypatch):
    api_key, raw_key = make_api_key(company)
    shared = caches["default"]
    real_add = shared.add

    def another_process_first(key, *args, **kwargs):
        shared.set(key, "theirs", timeout=None)  # a change committed elsewhere meanwhile
        return real_add(key, *args, **kwargs)

    monkeypatch.setattr(shared, "add", another_process_first)
    assert authenticate(raw_key=raw_key, client_ip="198.51.100.7") == api_key
    assert api_key.prefix not in key_cache._entries
    monkeypatch.undo()
    assert authenticate(raw_key=raw_key, client_ip="198.51.100.7") == api_key
    assert key_cache._entries[api_key.prefix].epoch == "theirs"


def test_a_row_read_while_this_process_saw_a_change_is_not_kept(company, monkeypatch):
    api_key, raw_key = make_api_key(company)
    real_read = selectors.key_with_company

    def read_during_a_change(prefix):
        read = real_read(prefix)
        key_cache.keys_changed()  # another thread's change, whose new epoch may be lost
        return read

    monkeypatch.setattr(selectors, "key_with_company", read_during_a_change)
    assert authenticate(raw_key=raw_key, client_ip="198.51.100.7") == api_key
    assert api_key.prefix not in key_cache._entries


def test_an_epoch_that_is_not_ours_is_never_matched(company):
    api_key, raw_key = make_api_key(company)
    cache.set(key_cache.EPOCH_KEY, 42, timeout=None)
    for _ in range(2):
        assert authenticate(raw_key=raw_key, client_ip="198.51.100.7") == api_key
        assert api_key.prefix not in key_cache._entries


def test_the_cache_holds_at_most_max_entries(company, monkeypatch):
    monkeypatch.setattr(key_cache, "MAX_ENTRIES", 3)
    raw_keys = [make_api_key(company, name=f"Key {i}")[1] for i in range(5)]
    for raw_key in raw_keys:
        authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    assert list(key_cache._entries) == [raw_key[:16] for raw_key in raw_keys[2:]]


def test_a_change_while_the_shared_cache_is_down_still_commits_and_says_so(
    company, company_admin, caplog
):
    api_key, raw_key = make_api_key(company)
    authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    dead = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
    }
    with (
        override_settings(CACHES=dead),
        caplog.at_level(logging.ERROR, "switchboard.apikeys"),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)
    assert APIKey.objects.get(pk=api_key.pk).revoked_at is not None
    assert "up to 60 seconds" in caplog.text
    assert key_cache._entries == {}
    with pytest.raises(AuthenticationFailed):  # this process read it again
        authenticate(raw_key=raw_key, client_ip="198.51.100.7")


def test_authentication_while_the_shared_cache_is_down_reads_the_database(company):
    api_key, raw_key = make_api_key(company)
    dead = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    with override_settings(CACHES=dead):
        assert authenticate(raw_key=raw_key, client_ip="198.51.100.7") == api_key
        assert key_cache._entries == {}  # nothing kept without an epoch to check it against
        revoke_api_key(api_key=api_key, actor=SYSTEM, source=Source.CLI)
        with pytest.raises(AuthenticationFailed):
            authenticate(raw_key=raw_key, client_ip="198.51.100.7")


def test_a_revocation_refuses_at_once_on_every_web_process(web_processes, company):
    api_key, raw_key = make_api_key(company)
    first, second = web_processes(2)
    path = "/scim/v2/Users?filter=" + quote('userName eq "nobody"')
    headers = {"Authorization": f"Bearer {raw_key}"}

    def statuses():
        return [web.request("GET", path, headers=headers).status for web in (first, second)]

    assert statuses() == [200, 200]  # each process reads the key
    # Each keeps what it read: a write that sets no new epoch goes unseen (for MAX_AGE at most).
    APIKey.objects.filter(pk=api_key.pk).update(scopes=[Scope.API_READ])
    assert statuses() == [200, 200]
    APIKey.objects.filter(pk=api_key.pk).update(scopes=[Scope.SCIM])

    revoke_api_key(api_key=api_key, actor=SYSTEM, source=Source.CLI)
    assert statuses() == [401, 401]
