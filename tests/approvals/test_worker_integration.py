"""A real Celery worker against the test Redis: approved changes apply exactly once, in order,
even when the worker is killed mid-run and a new one takes over."""

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import redis
from django.db import connection, transaction

from accounts.audit import Source
from accounts.models import AuditEvent, User
from approvals import services
from approvals.models import ChangeStatus, PendingChange
from tests.accounts.factories import CompanyAdminFactory
from tests.approvals.factories import users_with_queued_updates
from tests.processes import kill_group, publishing_to, start_worker

USERS = 10
CHANGES_PER_USER = 10
DEADLINE = 45  # seconds; the run takes a fraction of it


def broker_url() -> str:
    """The run's own Redis database (REDIS_URL's, as the cache's): a fixed one would be shared
    by two runs on one Redis, each flushing and consuming the other's queue. The broker's keys
    (celery, unacked, _kombu.*) are not the cache's (:1:…), and the cache is emptied before
    every test anyway."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL (make test starts a throwaway Redis)")
    return url


def test_two_runs_on_one_redis_use_two_brokers(monkeypatch):
    brokers = set()
    for database in (8, 9):
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:6379/{database}")
        brokers.add(broker_url())
    assert len(brokers) == 2


def kill_whole_group(process) -> None:
    """SIGKILL what is left of a worker's process group (pool processes whose parent died)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def applied_count() -> int:
    return PendingChange.objects.filter(status=ChangeStatus.APPLIED).count()


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


class RowLock(threading.Thread):
    """Holds a user's row lock in its own transaction until released: a worker applying a
    change for that user blocks mid-transaction, so it can be killed there."""

    def __init__(self, user_id: int) -> None:
        super().__init__(daemon=True)
        self.user_id = user_id
        self.locked = threading.Event()
        self.release = threading.Event()

    def run(self) -> None:
        try:
            with transaction.atomic():
                User.objects.select_for_update().get(pk=self.user_id)
                self.locked.set()
                self.release.wait(timeout=DEADLINE * 2)
        finally:
            connection.close()


def wait_until(condition, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"gave up waiting for {what}: {applied_count()} applied, "
                f"{backends_waiting_for_a_lock()} waiting for a lock, statuses "
                f"{sorted(set(PendingChange.objects.values_list('status', flat=True)))}; "
                f"queued messages {redis.Redis.from_url(broker_url()).llen('celery')}; "
                f"worker log:\n{log_path.read_text()[-3000:]}"
            )
        time.sleep(0.1)


@pytest.fixture
def broker():
    url = broker_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    with publishing_to(url):
        yield url
    client.flushdb()
    client.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_applies_each_change_once_in_order_across_a_killed_worker(company, broker, tmp_path):
    log_path = tmp_path / "workers.log"
    approver = CompanyAdminFactory(company=company)
    users, changes = users_with_queued_updates(company, USERS, CHANGES_PER_USER)
    blocked = users[0]
    lock = RowLock(blocked.pk)
    lock.start()
    assert lock.locked.wait(timeout=10)
    first = start_worker(broker, log_path)
    second = None
    try:
        # Approve newest first: every later change must wait for its user's earlier ones.
        for change in reversed(changes):
            services.approve_change(change=change, actor=approver, source=Source.ADMIN)
        others = len(changes) - CHANGES_PER_USER
        wait_until(
            lambda: applied_count() == others and backends_waiting_for_a_lock() >= 1,
            "the other users' changes to apply while one change is stuck mid-transaction",
            log_path,
        )
        # kill -9 of the main process, mid-transaction on the blocked user's first change: its
        # message stays unacked, and its pool processes are orphaned.
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        lock.release.set()
        lock.join(timeout=10)

        restarted = time.monotonic()
        second = start_worker(broker, log_path)
        # The dead worker's reserved message is not redelivered until the broker's visibility
        # timeout (an hour), and no sweep is due: the new worker's start is what rescues it.
        wait_until(lambda: applied_count() == len(changes), "every change to apply", log_path)
        assert time.monotonic() - restarted < 60
    finally:
        lock.release.set()
        kill_whole_group(first)
        if second is not None:
            kill_group(second)
    assert "Traceback" not in log_path.read_text(), log_path.read_text()

    # Exactly once: one applied event and one user update per change, one attempt each.
    applied = list(AuditEvent.objects.filter(action="provisioning.change_applied").order_by("id"))
    assert sorted(int(e.target_id) for e in applied) == sorted(c.pk for c in changes)
    assert AuditEvent.objects.filter(action="user.updated").count() == len(changes)
    assert set(PendingChange.objects.values_list("attempts", flat=True)) == {1}
    # In arrival order per user.
    for user in users:
        mine = [c.pk for c in changes if c.user_id == user.pk]
        order = [int(e.target_id) for e in applied if int(e.target_id) in mine]
        assert order == sorted(mine)
        assert User.objects.get(pk=user.pk).title == f"step {CHANGES_PER_USER - 1}"
