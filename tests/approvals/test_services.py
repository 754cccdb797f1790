from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts import services as account_services
from accounts.audit import SYSTEM, Source
from accounts.errors import Conflict, DomainError, NotFound
from accounts.models import AuditEvent, LicenseSeats, User, UserStatus
from approvals import services
from approvals.models import ChangeStatus, Operation, PendingChange
from tests.accounts.factories import CompanyAdminFactory, UserFactory
from tests.approvals.factories import policy, queue_create, queue_update, request_record

pytestmark = pytest.mark.django_db


def approve(change, actor, capture, **kwargs):
    """Approve and run what approval enqueues on commit (the apply task, eagerly here)."""
    with capture(execute=True):
        return services.approve_change(change=change, actor=actor, source=Source.ADMIN, **kwargs)


# --- policy ---


def test_no_policy_requires_nothing(company):
    assert not any(services.requires_approval(company, op) for op in Operation.values)


def test_set_policy_is_audited_and_read_back(company, company_admin):
    services.set_policy(
        company=company,
        require_create=True,
        require_update=False,
        require_delete=True,
        actor=company_admin,
        source=Source.ADMIN,
    )
    assert services.requires_approval(company, "create")
    assert not services.requires_approval(company, "update")
    assert services.requires_approval(company, "delete")
    event = AuditEvent.objects.get(action="provisioning.policy_changed")
    assert event.actor_user == company_admin
    assert event.after["require_create"] is True


def test_unchanged_policy_is_not_audited_again(company):
    policy(company, "create")
    policy(company, "create")
    assert AuditEvent.objects.filter(action="provisioning.policy_changed").count() == 1


def test_policy_refuses_a_silly_ttl(company):
    with pytest.raises(DomainError, match="1 to 365 days"):
        policy(company, "create", ttl_days=0)


def test_policy_change_leaves_pending_changes_pending(company, scim_user):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    policy(company)  # approval off
    change.refresh_from_db()
    assert change.status == ChangeStatus.PENDING
    scim_user.refresh_from_db()
    assert scim_user.title == ""


# --- queueing ---


def test_queued_create_reserves_a_pending_user_without_license(company, office):
    policy(company, "create")
    change = queue_create(
        company, {"email": "grace@acme.example", "given_name": "Grace", "license_type": "sales"}
    )
    user = change.user
    assert change.status == ChangeStatus.PENDING
    assert change.operation == "create"
    assert user.status == UserStatus.PENDING
    assert not user.is_active
    assert not User.objects.filter(pk=user.pk, phone_number__isnull=False).exists()
    assert user.office == office  # the office is part of the reservation
    sales_in_use = User.objects.filter(
        company=company, license_type="sales", status=UserStatus.ACTIVE
    ).count()
    assert sales_in_use == 0
    assert change.request_method == "POST"
    assert AuditEvent.objects.filter(action="user.reserved", target_id=str(user.pk)).exists()
    assert AuditEvent.objects.filter(action="provisioning.change_queued").count() == 1


def test_queued_create_with_taken_email_is_refused_and_nothing_queued(company, scim_user):
    policy(company, "create")
    with pytest.raises(Conflict):
        queue_create(company, {"email": "ADA@acme.example"})
    assert not PendingChange.objects.exists()


def test_queued_update_is_validated_now_and_leaves_user_untouched(company, scim_user):
    other = UserFactory(company=company, email="taken@acme.example")
    policy(company, "update")
    with pytest.raises(Conflict):
        queue_update(company, scim_user, {"email": other.email})
    with pytest.raises(NotFound):
        queue_update(company, scim_user, {"office_name": "Atlantis"})
    change = queue_update(company, scim_user, {"title": "CTO", "given_name": "Augusta"})
    scim_user.refresh_from_db()
    assert (scim_user.title, scim_user.given_name) == ("", "Ada")
    assert PendingChange.objects.get() == change
    # The dry run left no trace in the audit log.
    assert not AuditEvent.objects.filter(action="user.updated").exists()


def test_update_needing_a_seat_is_queued_even_when_none_is_free(company, scim_user):
    policy(company, "update")
    LicenseSeats.objects.filter(company=company, license_type="sales").update(seats=0)
    change = queue_update(company, scim_user, {"license_type": "sales"})
    assert change.status == ChangeStatus.PENDING


def test_other_company_user_cannot_be_queued(company, other_company, scim_user):
    policy(other_company, "update")
    with pytest.raises(NotFound):
        queue_update(other_company, scim_user, {"title": "x"})


def test_later_change_for_a_reserved_user_is_queued_behind_the_create(
    company, office, approver, django_capture_on_commit_callbacks
):
    policy(company, "create")  # updates need no approval
    create = queue_create(company, {"email": "grace@acme.example"})
    assert services.must_queue(company, "update", create.user)
    follower = queue_update(company, create.user, {"title": "Admiral"})
    assert follower.status == ChangeStatus.APPROVED  # auto-approved, but waits its turn
    assert services.apply_approved_change(change_id=follower.pk) == "waiting"
    create.user.refresh_from_db()
    assert create.user.status == UserStatus.PENDING  # the update did not activate it

    approve(create, approver, django_capture_on_commit_callbacks)
    follower.refresh_from_db()
    create.refresh_from_db()
    assert create.status == ChangeStatus.APPLIED
    assert follower.status == ChangeStatus.APPLIED
    user = User.objects.get(pk=create.user_id)
    assert (user.status, user.title) == (UserStatus.ACTIVE, "Admiral")


# --- approving and applying ---


def test_approved_create_activates_the_reserved_user_with_license_and_number(
    company, office, approver, django_capture_on_commit_callbacks
):
    policy(company, "create")
    change = queue_create(company, {"email": "grace@acme.example", "license_type": "sales"})
    approve(change, approver, django_capture_on_commit_callbacks, comment="Welcome")
    change.refresh_from_db()
    user = User.objects.get(pk=change.user_id)
    assert change.status == ChangeStatus.APPLIED
    assert change.reviewed_by == approver
    assert change.review_comment == "Welcome"
    assert change.applied_at is not None
    assert user.status == UserStatus.ACTIVE
    assert user.license_type == "sales"
    assert user.phone_number.office == office
    actions = list(
        AuditEvent.objects.filter(target_type="approvals.pendingchange")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "provisioning.change_queued",
        "provisioning.change_approved",
        "provisioning.change_applied",
    ]
    # The user's own change is audited as the approver who let it through, as an activation
    # (the approved create taking effect), not a reactivation of someone who was suspended.
    activated = AuditEvent.objects.get(action="user.activated", target_id=str(user.pk))
    assert activated.actor_user == approver
    assert f"change #{change.pk}" in activated.actor_label
    assert not AuditEvent.objects.filter(action="user.reactivated").exists()


def test_approved_update_applies_the_validated_changes(
    company, scim_user, approver, django_capture_on_commit_callbacks
):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    approve(change, approver, django_capture_on_commit_callbacks)
    scim_user.refresh_from_db()
    change.refresh_from_db()
    assert scim_user.title == "CTO"
    assert change.status == ChangeStatus.APPLIED
    assert change.before["title"] == ""


def test_approved_delete_removes_user_and_fails_later_changes(
    company, scim_user, approver, django_capture_on_commit_callbacks
):
    policy(company, "update", "delete")
    delete = services.queue_change(
        company=company,
        operation="delete",
        user=scim_user,
        changes={},
        request_record=request_record(method="DELETE"),
        actor=SYSTEM,
        source=Source.SCIM,
    )
    later = queue_update(company, scim_user, {"title": "ghost"})
    approve(delete, approver, django_capture_on_commit_callbacks)
    assert not User.objects.filter(pk=scim_user.pk).exists()
    delete.refresh_from_db()
    later.refresh_from_db()
    assert delete.status == ChangeStatus.APPLIED
    assert delete.user is None
    assert delete.user_label == "ada@acme.example"
    assert later.status == ChangeStatus.FAILED
    assert f"deleted by change #{delete.pk}" in later.error


def test_no_free_seat_fails_visibly_and_retry_applies_after_seats_are_added(
    company, office, approver, django_capture_on_commit_callbacks
):
    policy(company, "create")
    LicenseSeats.objects.filter(company=company, license_type="talk").update(seats=0)
    change = queue_create(company, {"email": "grace@acme.example"})
    approve(change, approver, django_capture_on_commit_callbacks)
    change.refresh_from_db()
    assert change.status == ChangeStatus.FAILED
    assert "No free 'Talk' licenses" in change.error
    assert User.objects.get(pk=change.user_id).status == UserStatus.PENDING

    account_services.set_license_seats(
        company=company, license_type="talk", seats=1, actor=SYSTEM, source=Source.CLI
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_change(change=change, actor=approver, source=Source.ADMIN)
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED
    assert change.error == ""
    assert change.attempts == 2
    assert User.objects.get(pk=change.user_id).status == UserStatus.ACTIVE


def test_retry_only_failed_changes(company, scim_user, approver):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    with pytest.raises(DomainError, match="only a failed change"):
        services.retry_change(change=change, actor=approver, source=Source.ADMIN)


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_deciding_twice_is_refused_with_the_reason(
    first, company, scim_user, approver, django_capture_on_commit_callbacks
):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    decide = services.approve_change if first == "approve" else services.reject_change
    with django_capture_on_commit_callbacks(execute=True):
        decide(change=change, actor=approver, source=Source.ADMIN)
    for again in (services.approve_change, services.reject_change):
        with pytest.raises(DomainError, match=f"already .* by {approver.email}") as info:
            again(change=change, actor=approver, source=Source.ADMIN)
        assert info.value.code == "already_decided"
    assert AuditEvent.objects.filter(action="provisioning.change_applied").count() == (
        1 if first == "approve" else 0
    )


def test_applying_twice_changes_nothing(
    company, scim_user, approver, django_capture_on_commit_callbacks
):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    approve(change, approver, django_capture_on_commit_callbacks)
    assert services.apply_approved_change(change_id=change.pk) == "skipped"
    assert AuditEvent.objects.filter(action="user.updated").count() == 1


def test_only_approvers_of_the_company_decide(company, other_company, scim_user, member):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    with pytest.raises(DomainError, match="not an approver") as info:
        services.approve_change(change=change, actor=member, source=Source.ADMIN)
    assert info.value.code == "not_approver"
    foreign_approver = CompanyAdminFactory(company=other_company)
    with pytest.raises(NotFound):
        services.approve_change(change=change, actor=foreign_approver, source=Source.ADMIN)
    with pytest.raises(DomainError):
        services.approve_change(change=change, actor=SYSTEM, source=Source.CLI)
    suspended = UserFactory(company=company, is_approver=True, status=UserStatus.SUSPENDED)
    with pytest.raises(DomainError, match="not an approver"):
        services.reject_change(change=change, actor=suspended, source=Source.ADMIN)
    change.refresh_from_db()
    assert change.status == ChangeStatus.PENDING


def test_rejected_create_removes_the_reserved_user_and_its_followers(
    company, office, approver, django_capture_on_commit_callbacks
):
    policy(company, "create", "update")
    create = queue_create(company, {"email": "grace@acme.example"})
    follower = queue_update(company, create.user, {"title": "Admiral"})
    reserved_id = create.user_id
    with django_capture_on_commit_callbacks(execute=True):
        services.reject_change(
            change=create, actor=approver, source=Source.ADMIN, comment="Not ours"
        )
    assert not User.objects.filter(pk=reserved_id).exists()
    create.refresh_from_db()
    follower.refresh_from_db()
    assert create.status == ChangeStatus.REJECTED
    assert create.review_comment == "Not ours"
    assert follower.status == ChangeStatus.REJECTED
    assert "was rejected" in follower.review_comment
    assert AuditEvent.objects.filter(action="user.deleted", target_id=str(reserved_id)).exists()


def test_rejected_update_leaves_the_user_alone(company, scim_user, approver):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    services.reject_change(change=change, actor=approver, source=Source.ADMIN)
    scim_user.refresh_from_db()
    assert scim_user.title == ""


def test_changes_of_one_user_apply_in_arrival_order(
    company, scim_user, approver, django_capture_on_commit_callbacks
):
    policy(company, "update")
    first = queue_update(company, scim_user, {"title": "First"})
    second = queue_update(company, scim_user, {"title": "Second"})
    approve(second, approver, django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert second.status == ChangeStatus.APPROVED  # waits for the first
    scim_user.refresh_from_db()
    assert scim_user.title == ""

    approve(first, approver, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (ChangeStatus.APPLIED, ChangeStatus.APPLIED)
    scim_user.refresh_from_db()
    assert scim_user.title == "Second"
    applied = AuditEvent.objects.filter(action="provisioning.change_applied").order_by("id")
    assert [int(e.target_id) for e in applied] == [first.pk, second.pk]


def test_rejecting_the_earlier_change_lets_the_later_apply(
    company, scim_user, approver, django_capture_on_commit_callbacks
):
    policy(company, "update")
    first = queue_update(company, scim_user, {"title": "First"})
    second = queue_update(company, scim_user, {"title": "Second"})
    approve(second, approver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.reject_change(change=first, actor=approver, source=Source.ADMIN)
    scim_user.refresh_from_db()
    assert scim_user.title == "Second"


# --- housekeeping ---


def test_stale_pending_changes_expire_by_company_ttl(
    company, other_company, office, scim_user, django_capture_on_commit_callbacks
):
    policy(company, "create", "update", ttl_days=3)
    create = queue_create(company, {"email": "grace@acme.example"})
    update = queue_update(company, scim_user, {"title": "CTO"})
    fresh = queue_update(company, scim_user, {"title": "CEO"})
    old = timezone.now() - timedelta(days=4)
    PendingChange.objects.filter(pk__in=[create.pk, update.pk]).update(created_at=old)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.expire_stale_changes() == 2
    statuses = dict(PendingChange.objects.values_list("pk", "status"))
    assert statuses == {
        create.pk: ChangeStatus.EXPIRED,
        update.pk: ChangeStatus.EXPIRED,
        fresh.pk: ChangeStatus.PENDING,
    }
    assert not User.objects.filter(email="grace@acme.example").exists()
    event = AuditEvent.objects.filter(action="provisioning.change_expired").first()
    assert event.after["ttl_days"] == 3
    assert event.actor_kind == "system"
    assert services.expire_stale_changes() == 0


def test_default_ttl_is_fourteen_days(company, scim_user):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    PendingChange.objects.filter(pk=change.pk).update(
        created_at=timezone.now() - timedelta(days=13)
    )
    assert services.expire_stale_changes() == 0
    assert services.expire_stale_changes(now=timezone.now() + timedelta(days=2)) == 1


def test_sweeper_reenqueues_approved_changes_left_unapplied(company, scim_user, approver):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    # Approved, but the commit hook never ran (as if the worker died with the message).
    services.approve_change(change=change, actor=approver, source=Source.ADMIN)
    assert services.reenqueue_unapplied_changes() == 0  # too fresh to call lost
    PendingChange.objects.filter(pk=change.pk).update(
        updated_at=timezone.now() - timedelta(minutes=10)
    )
    assert services.reenqueue_unapplied_changes() == 1  # runs eagerly in tests
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED


def test_the_sweepers_grace_follows_the_apply_tasks_time_limit(company, scim_user, approver):
    from approvals.tasks import apply_pending_change

    assert apply_pending_change.time_limit == services.APPLY_TIME_LIMIT_SECONDS
    assert timedelta(seconds=apply_pending_change.time_limit) < services.SWEEP_UNAPPLIED_AFTER
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    services.approve_change(change=change, actor=approver, source=Source.ADMIN)
    # Still possibly running within the time limit: left alone.
    PendingChange.objects.filter(pk=change.pk).update(
        updated_at=timezone.now() - timedelta(seconds=services.APPLY_TIME_LIMIT_SECONDS)
    )
    assert services.reenqueue_unapplied_changes() == 0
    # Past the limit and its margin nobody can be applying it: sent again.
    PendingChange.objects.filter(pk=change.pk).update(
        updated_at=timezone.now() - services.SWEEP_UNAPPLIED_AFTER - timedelta(seconds=1)
    )
    assert services.reenqueue_unapplied_changes() == 1


def test_a_workers_start_recovers_fresh_unapplied_changes_once(company, scim_user, approver):
    from approvals.tasks import recover_unapplied_changes

    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    # Approved a moment ago; its message died with a worker.
    services.approve_change(change=change, actor=approver, source=Source.ADMIN)
    assert recover_unapplied_changes.delay().get() == 1  # runs eagerly in tests
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED
    # Another worker starting finds nothing left; applying again would change nothing.
    assert recover_unapplied_changes.delay().get() == 0
    assert services.apply_approved_change(change_id=change.pk) == "skipped"
    assert AuditEvent.objects.filter(action="provisioning.change_applied").count() == 1
    assert AuditEvent.objects.filter(action="user.updated").count() == 1


def test_digest_mails_each_approver_once_per_interval(company, scim_user, approver, settings):
    company_admin = CompanyAdminFactory(company=company, email="boss@acme.example")
    UserFactory(company=company, email="member@acme.example")
    policy(company, "update")
    first = queue_update(company, scim_user, {"title": "CTO"})
    second = queue_update(company, scim_user, {"title": "CEO"})

    assert services.send_approver_digests() == 2
    assert sorted(m.to[0] for m in mail.outbox) == [approver.email, company_admin.email]
    body = mail.outbox[0].body
    assert f"#{first.pk}" in body
    assert f"#{second.pk}" in body
    assert "2 provisioning changes" in mail.outbox[0].subject

    queue_update(company, scim_user, {"title": "CFO"})
    assert services.send_approver_digests() == 0  # within the interval: wait
    later = timezone.now() + timedelta(minutes=settings.APPROVAL_DIGEST_INTERVAL_MINUTES + 1)
    assert services.send_approver_digests(now=later) == 2
    assert "#" + str(first.pk) not in mail.outbox[-1].body  # only what is new
    assert services.send_approver_digests(now=later + timedelta(hours=1)) == 0
