"""Two approvers at once: the change is approved once and applied once."""

import threading

import pytest
from django.db import connection

from accounts.audit import SYSTEM, Source
from accounts.errors import DomainError
from accounts.models import AuditEvent, User
from approvals import services
from approvals.models import ChangeStatus
from members import services as members
from tests.accounts.factories import CompanyAdminFactory
from tests.approvals.factories import policy, queue_update


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except DomainError as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_approvers_at_once_apply_the_change_once(company):
    first, second = CompanyAdminFactory(company=company), CompanyAdminFactory(company=company)
    user = members.create_member_from_change(
        company=company, changes={"email": "ada@acme.example"}, actor=SYSTEM, source=Source.SCIM
    )
    policy(company, "update")
    change = queue_update(company, user, {"title": "CTO"})

    outcomes = run_together(
        lambda: services.approve_change(change=change, actor=first, source=Source.ADMIN),
        lambda: services.approve_change(change=change, actor=second, source=Source.ADMIN),
    )
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(refused) == 1
    assert refused[0].code == "already_decided"
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED  # eager apply after the winner's commit
    assert AuditEvent.objects.filter(action="provisioning.change_approved").count() == 1
    assert AuditEvent.objects.filter(action="provisioning.change_applied").count() == 1
    assert AuditEvent.objects.filter(action="user.updated").count() == 1
    assert User.objects.get(pk=user.pk).title == "CTO"

    # Two workers running the same apply at once: the second finds nothing left to do.
    outcomes = run_together(
        lambda: services.apply_approved_change(change_id=change.pk),
        lambda: services.apply_approved_change(change_id=change.pk),
    )
    assert outcomes == ["skipped", "skipped"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_applying_one_approved_change_apply_it_once(company):
    approver = CompanyAdminFactory(company=company)
    user = members.create_member_from_change(
        company=company, changes={"email": "ada@acme.example"}, actor=SYSTEM, source=Source.SCIM
    )
    policy(company, "update")
    change = queue_update(company, user, {"title": "CTO"})
    # Approved without running the commit hook: the two "workers" below race for it.
    from unittest import mock

    with mock.patch("approvals.services._enqueue_apply_on_commit"):
        services.approve_change(change=change, actor=approver, source=Source.ADMIN)
    outcomes = run_together(
        lambda: services.apply_approved_change(change_id=change.pk),
        lambda: services.apply_approved_change(change_id=change.pk),
    )
    assert sorted(outcomes) == ["applied", "skipped"]
    assert AuditEvent.objects.filter(action="user.updated").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_bulk_approvals_of_overlapping_changes_approve_each_once(company, monkeypatch):
    from tests.approvals.factories import make_pending_change

    monkeypatch.setattr(services, "APPROVE_BATCH_SIZE", 7)  # several batches interleave
    monkeypatch.setattr(services, "send_once", lambda *args: None)
    first, second = CompanyAdminFactory(company=company), CompanyAdminFactory(company=company)
    ids = [make_pending_change(company).pk for _ in range(30)]

    def approve(actor, change_ids):
        return lambda: services.approve_changes(
            company=company, change_ids=change_ids, actor=actor, source=Source.ADMIN
        )

    one, other = run_together(approve(first, ids), approve(second, ids[5:]))
    assert sorted(one.approved + other.approved) == ids  # each approved exactly once
    # … and refused with the reason to the other.
    assert set(one.refused) == set(ids) - set(one.approved)
    assert set(other.refused) == set(ids[5:]) - set(other.approved)
    assert {error.code for error in [*one.refused.values(), *other.refused.values()]} <= {
        "already_decided"
    }
    assert AuditEvent.objects.filter(action="provisioning.change_approved").count() == len(ids)
