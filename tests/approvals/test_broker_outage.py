"""Redis (the Celery broker) goes away while approvers work: their approvals are recorded at once,
and applied exactly once by the sweeper and a worker when Redis is back."""

import time
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.audit import SYSTEM, Source
from accounts.models import AuditEvent, User
from approvals import services
from approvals.models import ChangeStatus, PendingChange
from approvals.tasks import sweep_pending_changes
from config.celery import send_once
from members import services as members
from tests.accounts.factories import CompanyAdminFactory
from tests.approvals.factories import policy, queue_update, users_with_queued_updates
from tests.processes import RedisServer, free_port, kill_group, publishing_to, start_worker

CHANGELIST = "admin:approvals_pendingchange_changelist"
USERS = 3
CHANGES_PER_USER = 3
DEADLINE = 60  # seconds; a guard against a hang, not a measurement
# Publishing to a broker that refuses connections must not hold the approver's request: a failed
# publish costs milliseconds, not the retry policy's seconds per change.
APPROVE_LIMIT_SECONDS = 10


@pytest.fixture
def outage_broker(tmp_path, monkeypatch):
    # The sender pauses after a failure; the tests after this one get back an unpaused one.
    monkeypatch.setattr(services, "_apply_tasks", services._ApplyTaskSender())
    redis = RedisServer(tmp_path)
    redis.start()
    with publishing_to(redis.url):
        yield redis
    redis.stop()


def statuses() -> set[str]:
    return set(PendingChange.objects.values_list("status", flat=True))


def wait_until(condition, log_path) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, (statuses(), log_path.read_text()[-3000:])
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_approvals_while_redis_is_down_are_recorded_and_applied_once_when_it_returns(
    company, company_admin_client, outage_broker, tmp_path
):
    log_path = tmp_path / "worker.log"
    users, changes = users_with_queued_updates(company, USERS, CHANGES_PER_USER)
    first, changes = changes[0], changes[1:]
    worker = start_worker(outage_broker.url, log_path, concurrency=1)
    try:
        # Before the outage: one approval reaches the worker (this process now holds a broker
        # connection, which the outage breaks).
        company_admin_client.post(
            reverse("admin:approvals_pendingchange_change", args=[first.pk]),
            {"decision": "approve"},
        )
        wait_until(lambda: PendingChange.objects.get(pk=first.pk).status == "applied", log_path)
        outage_broker.stop()

        # The admin's bulk approve: recorded, no error page, and the approver is told why the
        # changes have not applied yet.
        started = time.monotonic()
        response = company_admin_client.post(
            reverse(CHANGELIST),
            {"action": "approve_selected", "_selected_action": [c.pk for c in changes]},
        )
        assert time.monotonic() - started < APPROVE_LIMIT_SECONDS
        assert response.status_code == 302
        shown = [str(message) for message in get_messages(response.wsgi_request)]
        assert f"Approved {len(changes)} changes." in shown
        assert any("task queue is unreachable" in message for message in shown), shown
        assert set(
            PendingChange.objects.filter(pk__in=[c.pk for c in changes]).values_list(
                "status", flat=True
            )
        ) == {ChangeStatus.APPROVED}
        assert (
            AuditEvent.objects.filter(action="provisioning.change_approved").count()
            == len(changes) + 1
        )
        assert User.objects.filter(title__startswith="step").count() == 1  # the first change

        outage_broker.start()  # empty: whatever was queued before the outage is gone
        # No sweep is due: the worker's reconnect sends the recovery of unapplied changes.
        wait_until(lambda: statuses() == {ChangeStatus.APPLIED}, log_path)
        # The sweeper, when due, finds nothing left to apply either.
        PendingChange.objects.update(
            updated_at=timezone.now() - services.SWEEP_UNAPPLIED_AFTER - timedelta(seconds=1)
        )
        sweep_pending_changes.delay()
        # A second sweep finds nothing left to apply.
        assert services.reenqueue_unapplied_changes(older_than=timedelta(0)) == 0
    finally:
        kill_group(worker)
    # The worker logs the lost connection (with a traceback); no task failed.
    assert "raised unexpected" not in log_path.read_text(), log_path.read_text()

    # Exactly once, in arrival order per user.
    applied = list(AuditEvent.objects.filter(action="provisioning.change_applied").order_by("id"))
    changes = [first, *changes]
    assert sorted(int(e.target_id) for e in applied) == sorted(c.pk for c in changes)
    assert set(PendingChange.objects.values_list("attempts", flat=True)) == {1}
    for user in users:
        mine = [c.pk for c in changes if c.user_id == user.pk]
        assert [int(e.target_id) for e in applied if int(e.target_id) in mine] == mine
        assert User.objects.get(pk=user.pk).title == f"step {CHANGES_PER_USER - 1}"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_approval_while_redis_refuses_tries_it_once_and_says_so(
    company, monkeypatch, capsys
):
    monkeypatch.setattr(services, "_apply_tasks", services._ApplyTaskSender())
    sends = []

    def counted_send_once(*args):
        sends.append(args)
        send_once(*args)

    monkeypatch.setattr(services, "send_once", counted_send_once)
    approver = CompanyAdminFactory(company=company, email="boss@acme.example")
    user = members.create_member_from_change(
        company=company, changes={"email": "u@acme.example"}, actor=SYSTEM, source=Source.SCIM
    )
    policy(company, "update")
    changes = [queue_update(company, user, {"title": f"step {n}"}) for n in range(3)]
    with publishing_to(f"redis://127.0.0.1:{free_port()}/0"):  # nothing listens there
        call_command("pending", "approve", "--company", "acme", "--all", "--as", approver.email)
    assert len(sends) == 1  # the first failure pauses sending: the others are left to the sweeper
    assert services.APPLY_DEFERRED_MESSAGE in capsys.readouterr().err
    assert set(
        PendingChange.objects.filter(pk__in=[c.pk for c in changes]).values_list(
            "status", flat=True
        )
    ) == {ChangeStatus.APPROVED}
