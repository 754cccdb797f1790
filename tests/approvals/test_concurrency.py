"""Two approvers at once: the change is approved once and applied once."""

import threading

import pytest
from django.db import connection

from accounts.audit import SYSTEM, Source
from accounts.errors import DomainError
from accounts.models import AuditEvent, User
from approvals import services
from approvals.models import ChangeStatus
from provisioning import services as provisioning
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
    user = provisioning.provision_user(
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
    user = provisioning.provision_user(
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
