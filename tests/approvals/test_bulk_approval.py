"""Bulk approval (`approve_changes`): set-based, and every guarantee of one approval kept."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import SYSTEM, Source
from accounts.errors import DomainError
from accounts.models import AuditEvent, User
from approvals import services
from approvals.models import ChangeStatus, PendingChange
from core.request_context import current_request_id
from members import services as members
from tests.approvals.factories import make_pending_change, policy, queue_update

pytestmark = pytest.mark.django_db


def pending_updates(company, count):
    """`count` users with one pending update each."""
    return [make_pending_change(company) for _ in range(count)]


def approve_all(changes, approver, source=Source.ADMIN, **kwargs):
    return services.approve_changes(
        company=approver.company,
        change_ids=[change.pk for change in changes],
        actor=approver,
        source=source,
        **kwargs,
    )


@pytest.fixture
def sent(monkeypatch):
    """The change ids whose apply task was sent (not run)."""
    ids = []
    monkeypatch.setattr(services, "send_once", lambda task, change_id: ids.append(change_id))
    return ids


def test_decides_in_a_number_of_queries_independent_of_the_count(company, approver):
    few, many = pending_updates(company, 2), pending_updates(company, 40)
    counts = []
    for changes in (few, many):
        with CaptureQueriesContext(connection) as queries:
            approval = approve_all(changes, approver)
        assert approval.approved == [change.pk for change in changes]
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 6, counts  # savepoint, lock, update, audit, order, release


def test_a_batch_costs_the_same_few_queries(
    company, approver, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(services, "APPROVE_BATCH_SIZE", 10)
    changes = pending_updates(company, 30)
    with django_assert_max_num_queries(3 * 6 + 1):  # three batches; the approver's company
        approval = approve_all(changes, approver)
    assert len(approval.approved) == 30
    assert not PendingChange.objects.filter(status=ChangeStatus.PENDING).exists()


def test_every_change_is_audited_as_one_approval_writes_it(company, approver, monkeypatch, sent):
    single, *bulk = pending_updates(company, 3)
    token = current_request_id.set("req-bulk-1")
    try:
        services.approve_change(change=single, actor=approver, source=Source.ADMIN, comment="ok")
        approve_all(bulk, approver, comment=" ok ")
    finally:
        current_request_id.reset(token)
    events = list(AuditEvent.objects.filter(action="provisioning.change_approved").order_by("id"))
    assert [int(event.target_id) for event in events] == [c.pk for c in (single, *bulk)]
    shape = {
        (
            e.company_id,
            e.actor_kind,
            e.actor_user_id,
            e.actor_label,
            e.source,
            e.target_type,
            e.request_id,
            repr(e.before),
            repr(e.after),
        )
        for e in events
    }
    assert shape == {
        (
            company.pk,
            "user",
            approver.pk,
            approver.email,
            "admin",
            "approvals.pendingchange",
            "req-bulk-1",
            repr({"status": "pending"}),
            repr({"status": "approved", "comment": "ok"}),
        )
    }
    assert [e.target_label for e in events] == [str(c) for c in (single, *bulk)]
    for change in PendingChange.objects.filter(pk__in=[c.pk for c in bulk]):
        assert (change.status, change.reviewed_by, change.review_comment) == (
            ChangeStatus.APPROVED,
            approver,
            "ok",
        )
        assert change.reviewed_at is not None


def test_changes_no_longer_pending_are_skipped_with_the_reason(company, approver, sent):
    decided, rejected, *fresh = pending_updates(company, 4)
    services.approve_change(change=decided, actor=approver, source=Source.ADMIN)
    services.reject_change(change=rejected, actor=approver, source=Source.ADMIN)
    approval = approve_all([decided, rejected, *fresh], approver)
    assert approval.approved == [change.pk for change in fresh]
    assert set(approval.refused) == {decided.pk, rejected.pk}
    assert approval.refused[decided.pk].code == "already_decided"
    assert approval.refused[decided.pk].message == (
        f"Change #{decided.pk} is already approved, applying by {approver.email}: "
        "nothing to approve."
    )
    assert "already rejected" in approval.refused[rejected.pk].message
    # Approved once, audited once.
    assert (
        AuditEvent.objects.filter(
            action="provisioning.change_approved", target_id=str(decided.pk)
        ).count()
        == 1
    )
    assert PendingChange.objects.get(pk=rejected.pk).status == ChangeStatus.REJECTED


def test_never_another_companys_change(company, other_company, approver, sent):
    mine = pending_updates(company, 2)
    foreign = make_pending_change(other_company)
    approval = approve_all([*mine, foreign], approver)
    assert approval.approved == [change.pk for change in mine]
    assert approval.refused[foreign.pk].message == "No such pending change."
    foreign.refresh_from_db()
    assert (foreign.status, foreign.reviewed_by) == (ChangeStatus.PENDING, None)
    assert not AuditEvent.objects.filter(target_id=str(foreign.pk)).exists()
    assert foreign.pk not in sent


def test_only_an_approver_may_and_then_nothing_is_decided(company, member, sent):
    changes = pending_updates(company, 3)
    with pytest.raises(DomainError, match="is not an approver"):
        approve_all(changes, member)
    assert set(PendingChange.objects.values_list("status", flat=True)) == {ChangeStatus.PENDING}
    assert not AuditEvent.objects.filter(action="provisioning.change_approved").exists()


def test_each_users_changes_apply_in_arrival_order(
    company, approver, sent, django_capture_on_commit_callbacks
):
    users = [
        members.create_member_from_change(
            company=company, changes={"email": f"p{n}@acme.example"}, actor=SYSTEM, source="scim"
        )
        for n in range(2)
    ]
    policy(company, "update")
    changes = [queue_update(company, users[n % 2], {"title": f"step {n}"}) for n in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        approve_all(reversed(changes), approver)
    # Only each user's first change is sent; each applied change enqueues the next.
    assert sent == [changes[0].pk, changes[1].pk]

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for change_id in [changes[0].pk, changes[1].pk]:
            services.apply_approved_change(change_id=change_id)
    while sent:
        change_id = sent.pop(0)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.apply_approved_change(change_id=change_id) == "applied"
    applied = AuditEvent.objects.filter(action="provisioning.change_applied").order_by("id")
    order = [int(event.target_id) for event in applied]
    for user in users:
        mine = [change.pk for change in changes if change.user_id == user.pk]
        assert [pk for pk in order if pk in mine] == mine
    assert [User.objects.get(pk=user.pk).title for user in users] == ["step 4", "step 3"]


def test_an_approval_behind_an_earlier_open_change_waits_for_it(
    company, approver, sent, django_capture_on_commit_callbacks
):
    user = members.create_member_from_change(
        company=company, changes={"email": "w@acme.example"}, actor=SYSTEM, source="scim"
    )
    policy(company, "update")
    first = queue_update(company, user, {"title": "First"})
    second = queue_update(company, user, {"title": "Second"})
    with django_capture_on_commit_callbacks(execute=True):
        approve_all([second], approver)
    assert sent == []  # the first is still pending: the second follows it
    with django_capture_on_commit_callbacks(execute=True):
        approve_all([first], approver)
    assert sent == [first.pk]
