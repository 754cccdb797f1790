"""The approval queue's writes: policy, queueing, decisions, applying, expiry and digests.

A SCIM change the company's policy covers is validated as if it were applied, then stored as a
`PendingChange` instead. An approver approves or rejects it; approval enqueues
`approvals.tasks.apply_pending_change` on commit, which calls `apply_approved_change()`: the
same member services the direct SCIM path calls, under a row lock, in arrival order per
user. Every service owns its transaction and audits inside it; refusals raise `DomainError`
(nothing written). A broker outage never undoes or delays a decision: the task that could not be
sent is sent by the sweeper once the broker is back.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, Min, OuterRef, QuerySet
from django.utils import timezone

from accounts.audit import (
    Actor,
    Source,
    SystemActor,
    audit_batch,
    record_audit,
    snapshot,
)
from accounts.domains import refuse_email_verified_elsewhere
from accounts.errors import DomainError, NotFound
from accounts.models import Company, User, UserStatus
from apikeys.models import APIKey
from approvals.models import (
    DEFAULT_PENDING_CHANGE_TTL_DAYS,
    OPEN_STATUSES,
    ChangeStatus,
    Operation,
    PendingChange,
    ProvisioningPolicy,
)
from config.celery import BROKER_ERRORS, app, send_once
from members import services as members
from offices.models import PhoneNumber

logger = logging.getLogger(__name__)

POLICY_FIELDS = ("require_create", "require_update", "require_delete", "pending_change_ttl_days")
# The user's fields an approver compares, in the order a diff shows them.
USER_STATE_FIELDS = (
    "email",
    "scim_user_name",
    "external_id",
    "given_name",
    "middle_name",
    "family_name",
    "display_name",
    "nick_name",
    "title",
    "department",
    "division",
    "organization",
    "cost_center",
    "employee_number",
    "user_type",
    "preferred_language",
    "locale",
    "timezone",
    "status",
    "license_type",
)
# The cache of `company.provisioning_policy`: set when the company was read with its policy.
_POLICY_OF_COMPANY = Company.provisioning_policy.related
# The apply task's hard time limit (approvals/tasks.py): past it the pool process running it is
# killed, so a change still approved after the limit plus a margin is not being applied by
# anyone, and the sweeper sends it again. Applying is idempotent, so a change sent twice is
# applied once (the second run finds it applied and skips it).
APPLY_TIME_LIMIT_SECONDS = 90
SWEEP_UNAPPLIED_AFTER = timedelta(seconds=APPLY_TIME_LIMIT_SECONDS + 30)
APPROVE_BATCH_SIZE = 1000  # changes approved per transaction (a few queries each)
BROKER_PAUSE_SECONDS = 15.0
# The apply task (approvals/tasks.py), sent by its name: the tasks call these services, so the
# services do not import the tasks back.
APPLY_PENDING_CHANGE = app.signature("approvals.tasks.apply_pending_change")
NO_FREE_SEATS = "no_free_seats"  # offices.services' code for a license type with no free seat
EXPIRY_ACTOR = SystemActor("pending change expiry")
SWEEPER_ACTOR = SystemActor("approval sweeper")


class _DryRun(Exception):
    """Raised to roll back a change that was only applied to prove it can be."""


@dataclass(frozen=True)
class ApprovedChangeActor:
    """Who an applied change is audited as: the approver who let it through (or the queue)."""

    change_id: int
    approver: User | None
    requested_by: str

    def audit_identity(self) -> tuple[str, User | None, str]:
        if self.approver is not None:
            return (
                "user",
                self.approver,
                f"{self.approver.email} (approved change #{self.change_id})",
            )
        return ("system", None, f"approval queue (change #{self.change_id}, {self.requested_by})")


# --- policy ---


def get_policy(company: Company) -> ProvisioningPolicy:
    """The company's policy, or an unsaved default one (nothing requires approval)."""
    policy = ProvisioningPolicy.objects.filter(company=company).first()
    return policy or ProvisioningPolicy(company=company)


def requires_approval(company: Company, operation: str) -> bool:
    """Whether the company's policy makes this SCIM operation wait for an approver.

    One indexed query — or none for a company read with its policy, as API-key authentication
    reads it (apikeys/selectors.py): the SCIM hot path asks it for every create.
    """
    if operation not in Operation.values:
        raise ValueError(f"Unknown provisioning operation {operation!r}")
    if _POLICY_OF_COMPANY.is_cached(company):
        policy = _POLICY_OF_COMPANY.get_cached_value(company)
        return isinstance(policy, ProvisioningPolicy) and policy.requires(operation)
    return ProvisioningPolicy.objects.filter(
        company_id=company.pk, **{f"require_{operation}": True}
    ).exists()


def has_open_changes(user: User) -> bool:
    """Whether changes for the user still wait to apply (pending, approved or failed)."""
    return PendingChange.objects.filter(user_id=user.pk, status__in=OPEN_STATUSES).exists()


def must_queue(
    company: Company, operation: str, user: User | None = None, *, open_changes: int | None = None
) -> bool:
    """Whether a SCIM change goes to the queue instead of applying now.

    The policy decides; and a change for a user who already has changes waiting is queued behind
    them whatever the policy says, so one user's changes always apply in arrival order (and a
    reserved user cannot be activated by an update that skips the approval of its create).
    `open_changes` is how many of the user's changes wait, when the caller counted them as it
    read (and locked) the user: then only the policy is asked, which the company read with its
    API key answers without a query.
    """
    if user is None:
        return requires_approval(company, operation)
    if open_changes is not None:
        return open_changes > 0 or requires_approval(company, operation)
    # Both questions in one round trip.
    answer = (
        Company.objects.filter(pk=company.pk)
        .annotate(queue=_must_queue_expression(operation, OuterRef("pk"), user.pk))
        .values_list("queue", flat=True)
        .first()
    )
    return bool(answer)


def _must_queue_expression(operation: str, company_id: Any, user_id: Any) -> ExpressionWrapper:
    if operation not in Operation.values:
        raise ValueError(f"Unknown provisioning operation {operation!r}")
    policy = ProvisioningPolicy.objects.filter(
        company_id=company_id, **{f"require_{operation}": True}
    )
    waiting = PendingChange.objects.filter(user_id=user_id, status__in=OPEN_STATUSES)
    return ExpressionWrapper(Exists(policy) | Exists(waiting), output_field=BooleanField())


def set_policy(
    *,
    company: Company,
    require_create: bool,
    require_update: bool,
    require_delete: bool,
    actor: Actor,
    source: str,
    pending_change_ttl_days: int | None = None,
) -> ProvisioningPolicy:
    """Choose which SCIM operations need approval. Changes already queued stay queued."""
    if pending_change_ttl_days is not None and (
        not isinstance(pending_change_ttl_days, int)
        or isinstance(pending_change_ttl_days, bool)
        or not 1 <= pending_change_ttl_days <= 365
    ):
        raise DomainError(
            "Pending changes expire after 1 to 365 days.", field="pending_change_ttl_days"
        )
    with transaction.atomic():
        policy, created = ProvisioningPolicy.objects.select_for_update().get_or_create(
            company=company
        )
        before = snapshot(policy, POLICY_FIELDS)
        policy.require_create = bool(require_create)
        policy.require_update = bool(require_update)
        policy.require_delete = bool(require_delete)
        if pending_change_ttl_days is not None:
            policy.pending_change_ttl_days = pending_change_ttl_days
        after = snapshot(policy, POLICY_FIELDS)
        if before != after or created:
            policy.save()
            record_audit(
                actor=actor,
                source=source,
                action="provisioning.policy_changed",
                company=company,
                target=policy,
                before=None if created else before,
                after=after,
            )
    return policy


# --- queueing ---


def _requester_label(actor: Actor) -> str:
    return actor.audit_identity()[2][:300]


def _requesting_api_key(actor: Actor) -> APIKey | None:
    return actor if isinstance(actor, APIKey) else None


def _reserve_user(*, company: Company, changes: dict[str, Any], actor: Actor, source: str) -> User:
    """Create the user a queued create will become: its id exists, nothing else is granted.

    Provisioned as a suspended user (office and license type remembered, no license, no number)
    so the create is validated exactly as if it applied; then marked `pending` approval, and
    audited as one `user.reserved` event (the creation's values, status pending).
    """
    with audit_batch() as events:
        user = members.create_member_from_change(
            company=company, changes={**changes, "active": False}, actor=actor, source=source
        )
        User.objects.filter(pk=user.pk).update(status=UserStatus.PENDING)
        user.refresh_from_db()
        # The creation is audited as what it is, a reservation: not "created, suspended".
        for event in events:
            if event.action == "user.created" and event.target_id == str(user.pk):
                event.action = "user.reserved"
                event.after = {**(event.after or {}), "status": UserStatus.PENDING}
    return user


def _validate_update(*, user: User, changes: dict[str, Any], actor: Actor, source: str) -> None:
    """Apply the update and roll it back: its refusal reaches the client now, not at approval.

    A missing seat is no refusal of the input: seats may be added before the approver decides
    (if not, the change fails then, visibly, and can be retried).
    """
    try:
        with transaction.atomic():
            members.update_member(user=user, changes=changes, actor=actor, source=source)
            raise _DryRun
    except _DryRun:
        pass
    except DomainError as error:
        if error.code != NO_FREE_SEATS:
            raise


def queue_change(
    *,
    company: Company,
    operation: str,
    user: User | None,
    changes: dict[str, Any],
    request_record: dict[str, Any],
    actor: Actor,
    source: str,
) -> PendingChange:
    """Store a validated SCIM change to apply once approved.

    `changes` is the member change (see `members.services`); `request_record`
    holds the request as received: ``{"method", "path", "body"}``. A create takes `user=None`
    and reserves the user (status pending, no license) so the client gets its id; update and
    delete leave the user untouched. The change is validated as if it applied: a refusal raises
    `DomainError` and nothing is queued. A change the policy does not cover but that waits
    behind earlier changes of its user is approved at once and applies in its turn.
    """
    if operation not in Operation.values:
        raise DomainError(f"Unknown provisioning operation '{operation}'.")
    if not isinstance(changes, dict):
        raise DomainError("A change must be a JSON object of user fields.")
    with transaction.atomic():
        if operation == Operation.CREATE:
            if user is not None:
                raise DomainError("A queued create reserves its own user.")
            user = _reserve_user(company=company, changes=changes, actor=actor, source=source)
        else:
            if user is None or user.company_id != company.pk:
                raise NotFound("No such user in this company.")
            user = (
                User.objects.select_for_update(of=("self",))
                .select_related("company")
                .get(pk=user.pk)
            )
            if operation == Operation.UPDATE:
                _validate_update(user=user, changes=changes, actor=actor, source=source)
        needs_approval = requires_approval(company, operation)
        body = request_record.get("body", "")
        if not isinstance(body, str):
            body = str(body)
        change = PendingChange.objects.create(
            company=company,
            operation=operation,
            user=user,
            user_label=user.email[:300],
            request_method=str(request_record.get("method", ""))[:10],
            request_path=str(request_record.get("path", ""))[:500],
            request_body=body,
            changes=changes,
            status=ChangeStatus.PENDING if needs_approval else ChangeStatus.APPROVED,
            requested_by=_requesting_api_key(actor),
            requested_by_label=_requester_label(actor),
            reviewed_at=None if needs_approval else timezone.now(),
            review_comment=""
            if needs_approval
            else "Approval not required: applies after the earlier changes for this user.",
        )
        record_audit(
            actor=actor,
            source=source,
            action="provisioning.change_queued",
            company=company,
            target=change,
            after={
                "operation": operation,
                "user": user.email,
                "changes": changes,
                "status": change.status,
            },
        )
        if not needs_approval:
            _enqueue_apply_on_commit(change.pk)
    return change


# --- decisions ---


def _ensure_may_decide(actor: Actor, company_id: int) -> User | None:
    """The approver deciding: an active approver of the company (returned), or an API key of
    the company with the `api:approve` scope (None: the key is named by the audit log)."""
    kind, user, _label = actor.audit_identity()
    if kind == "api_key":
        if getattr(actor, "company_id", None) != company_id:
            raise NotFound("No such pending change.")
        if not actor.has_scope("api:approve"):  # type: ignore[attr-defined]
            raise DomainError(
                "This API key does not have the 'api:approve' scope.", code="missing_scope"
            )
        return None
    if user is None or kind != "user":
        raise DomainError("Only an approver of the company can decide on pending changes.")
    if user.company_id != company_id:
        # Another company's change looks exactly like a change that does not exist.
        raise NotFound("No such pending change.")
    if not (user.is_active and user.is_approver):
        raise DomainError(
            f"{user.email} is not an approver. A company admin can make them one under "
            "Admin Settings › Users.",
            code="not_approver",
        )
    return user


def _lock_change(change: PendingChange | int) -> PendingChange:
    change_id = change if isinstance(change, int) else change.pk
    locked = (
        PendingChange.objects.select_for_update(of=("self",))
        .select_related("user", "reviewed_by", "company")
        .filter(pk=change_id)
        .first()
    )
    if locked is None:
        raise NotFound("No such pending change.")
    return locked


def _already(change: PendingChange, verb: str) -> DomainError:
    who = f" by {change.reviewed_by.email}" if change.reviewed_by is not None else ""
    return DomainError(
        f"Change #{change.pk} is already {change.get_status_display().lower()}{who}: "
        f"nothing to {verb}.",
        code="already_decided",
    )


class _ApplyTaskSender:
    """Sends apply tasks after commit, and never makes the committed decision fail or wait.

    With the broker (Redis) down, the decision stays recorded as approved and the task is not
    sent: the sweeper sends it again once the broker is back (`reenqueue_unapplied_changes`).
    After a failed send this process leaves the broker alone for BROKER_PAUSE_SECONDS, so a bulk
    approval during an outage does not wait one connect timeout per change. Process-local on
    purpose: it only saves time, and no other process needs it.
    """

    def __init__(self) -> None:
        self.failed_at = -math.inf  # time.monotonic() of the last failed send
        self.unsent_at = -math.inf  # … of the last task not sent (failed or skipped)

    def send(self, change_ids: Iterable[int]) -> None:
        for change_id in change_ids:
            now = time.monotonic()
            if now - self.failed_at >= BROKER_PAUSE_SECONDS:
                try:
                    send_once(APPLY_PENDING_CHANGE, change_id)
                    continue
                except BROKER_ERRORS as error:
                    self.failed_at = now
                    logger.warning(
                        "The task queue is unreachable (%s): approved changes apply once the "
                        "sweeper finds them after it is back.",
                        error,
                    )
            self.unsent_at = now


_apply_tasks = _ApplyTaskSender()


APPLY_DEFERRED_MESSAGE = (
    "The task queue is unreachable right now: the approved changes are recorded and apply "
    "automatically within about 10 minutes of it coming back."
)


def apply_tasks_unsent_since(moment: float) -> bool:
    """Whether this process left an apply task unsent (broker unreachable) since `moment`, a
    `time.monotonic()` reading: the approver is told the changes apply later."""
    return _apply_tasks.unsent_at >= moment


def _enqueue_apply_on_commit(*change_ids: int) -> None:
    transaction.on_commit(partial(_apply_tasks.send, change_ids))


def clean_comment(comment: str | None) -> str:
    """An approver's comment as kept: trimmed, at most 2,000 characters. One with a NUL
    character (PostgreSQL text cannot hold it) is refused before anything is decided."""
    comment = (comment or "").strip()
    if "\x00" in comment:
        raise DomainError("A comment cannot contain a NUL character.", field="comment")
    return comment[:2000]


def _record_decision(
    change: PendingChange, status: str, *, approver: User | None, comment: str
) -> None:
    """Stamp an approver's decision on a locked change (the callers audit it)."""
    change.status = status
    change.reviewed_by = approver
    change.reviewed_at = timezone.now()
    change.review_comment = clean_comment(comment)
    change.save(
        update_fields=["status", "reviewed_by", "reviewed_at", "review_comment", "updated_at"]
    )


@dataclass
class Approval:
    """What an approval did: the changes it approved (id order), and why it refused the others."""

    approved: list[int] = field(default_factory=list)
    refused: dict[int, DomainError] = field(default_factory=dict)


def approve_changes(
    *, company: Company, change_ids: Iterable[int], actor: Actor, source: str, comment: str = ""
) -> Approval:
    """Approve the company's pending changes among `change_ids`; they apply right after commit.

    Set-based, APPROVE_BATCH_SIZE changes per transaction and a few queries per batch whatever
    its size, so selecting all of 10,000 changes fits in a request. Only an active approver of
    the company may (refused at once, nothing decided). A change already decided, applied or
    expired, or another company's, is refused with the reason, so two approvers at once approve
    it once; the others are approved all the same. Batches already committed stay approved.
    """
    approver = _ensure_may_decide(actor, company.pk)
    comment = clean_comment(comment)
    ids = sorted(set(change_ids))
    approval = Approval()
    for start in range(0, len(ids), APPROVE_BATCH_SIZE):
        batch = ids[start : start + APPROVE_BATCH_SIZE]
        with transaction.atomic():
            approved = _approve_batch(
                batch,
                company=company,
                approver=approver,
                actor=actor,
                source=source,
                comment=comment,
            )
        approval.approved += approved
        approval.refused.update(_refusals(set(batch) - set(approved), company))
    return approval


def _approve_batch(
    ids: list[int],
    *,
    company: Company,
    approver: User | None,
    actor: Actor,
    source: str,
    comment: str,
) -> list[int]:
    # Locked in id order, as every decider locks them: concurrent bulk approvals never deadlock,
    # and a change another approver decided meanwhile is no longer selected.
    changes = list(
        PendingChange.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, company_id=company.pk, status=ChangeStatus.PENDING)
        .only("pk", "operation", "user_id", "user_label")
        .order_by("pk")
    )
    if not changes:
        return []
    now = timezone.now()
    PendingChange.objects.filter(pk__in=[change.pk for change in changes]).update(
        status=ChangeStatus.APPROVED,
        reviewed_by=approver,
        reviewed_at=now,
        review_comment=comment,
        updated_at=now,
    )
    with audit_batch():  # one INSERT for all of them
        for change in changes:
            record_audit(
                actor=actor,
                source=source,
                action="provisioning.change_approved",
                company=company,
                target=change,
                before={"status": ChangeStatus.PENDING},
                after={"status": ChangeStatus.APPROVED, "comment": comment},
            )
    # Per-user arrival order: only a user's first open change applies now; each applied change
    # enqueues the next one (see _enqueue_next_on_commit).
    first_open = dict(
        PendingChange.objects.filter(
            user_id__in={change.user_id for change in changes}, status__in=OPEN_STATUSES
        )
        .order_by()
        .values("user_id")
        .annotate(first=Min("pk"))
        .values_list("user_id", "first")
    )
    _enqueue_apply_on_commit(
        *(
            change.pk
            for change in changes
            if change.user_id is None or first_open.get(change.user_id) == change.pk
        )
    )
    return [change.pk for change in changes]


def _refusals(ids: set[int], company: Company) -> dict[int, DomainError]:
    """Why each of these changes was not approved: decided already, or no such change here."""
    if not ids:
        return {}
    decided = PendingChange.objects.filter(pk__in=ids, company_id=company.pk).select_related(
        "reviewed_by"
    )
    refusals: dict[int, DomainError] = {
        change.pk: _already(change, "approve") for change in decided
    }
    for change_id in ids - refusals.keys():
        refusals[change_id] = NotFound("No such pending change.")
    return refusals


def approve_change(
    *, change: PendingChange, actor: Actor, source: str, comment: str = ""
) -> PendingChange:
    """Approve one pending change (see `approve_changes`); a refusal raises `DomainError`."""
    approval = approve_changes(
        company=change.company, change_ids=[change.pk], actor=actor, source=source, comment=comment
    )
    if change.pk in approval.refused:
        raise approval.refused[change.pk]
    change.refresh_from_db()
    return change


def _discard_followers(
    change: PendingChange, *, status: str, reason: str, actor: Actor, source: str
) -> None:
    """Close the later open changes of a user who will not exist (rejected/expired create)."""
    if change.user_id is None:
        return
    followers = PendingChange.objects.select_for_update().filter(
        user_id=change.user_id, status__in=OPEN_STATUSES, pk__gt=change.pk
    )
    for follower in followers:
        before = follower.status
        follower.status = status
        follower.review_comment = reason
        follower.save(update_fields=["status", "review_comment", "updated_at"])
        record_audit(
            actor=actor,
            source=source,
            action=f"provisioning.change_{status}",
            company=follower.company,
            target=follower,
            before={"status": before},
            after={"status": status, "comment": reason},
        )


def _close_unapplied(
    change: PendingChange, status: str, what_happened: str, *, actor: Actor, source: str
) -> None:
    """After a change ends without applying (rejected, expired): a create takes its user's
    later changes and reserved user with it; any other change lets the user's next one apply."""
    if change.operation == Operation.CREATE:
        _discard_followers(
            change,
            status=status,
            reason=f"Discarded: the create of this user (#{change.pk}) {what_happened}.",
            actor=actor,
            source=source,
        )
        _release_reserved_user(change, actor=actor, source=source)
    else:
        _enqueue_next_on_commit(change.user_id)


def _release_reserved_user(change: PendingChange, *, actor: Actor, source: str) -> None:
    user = change.user
    if (
        change.operation == Operation.CREATE
        and user is not None
        and user.status == UserStatus.PENDING
    ):
        members.delete_member(user=user, actor=actor, source=source)


def reject_change(
    *, change: PendingChange, actor: Actor, source: str, comment: str = ""
) -> PendingChange:
    """Discard a pending (or failed) change. A rejected create removes the reserved user and
    discards the later changes queued for it."""
    approver = _ensure_may_decide(actor, change.company_id)
    comment = clean_comment(comment)
    with transaction.atomic():
        locked = _lock_change(change)
        if locked.company_id != change.company_id:
            raise NotFound("No such pending change.")
        if locked.status not in (ChangeStatus.PENDING, ChangeStatus.FAILED):
            raise _already(locked, "reject")
        before = locked.status
        _record_decision(locked, ChangeStatus.REJECTED, approver=approver, comment=comment)
        record_audit(
            actor=actor,
            source=source,
            action="provisioning.change_rejected",
            company=locked.company,
            target=locked,
            before={"status": before},
            after={"status": locked.status, "comment": locked.review_comment},
        )
        _close_unapplied(locked, ChangeStatus.REJECTED, "was rejected", actor=actor, source=source)
    return locked


def retry_change(*, change: PendingChange, actor: Actor, source: str) -> PendingChange:
    """Apply a failed change again (after the cause, e.g. no free seat, was fixed)."""
    _ensure_may_decide(actor, change.company_id)
    with transaction.atomic():
        locked = _lock_change(change)
        if locked.status != ChangeStatus.FAILED:
            raise DomainError(
                f"Change #{locked.pk} is {locked.get_status_display().lower()}: only a failed "
                "change can be retried.",
                code="not_failed",
            )
        error = locked.error
        locked.status = ChangeStatus.APPROVED
        locked.error = ""
        locked.save(update_fields=["status", "error", "updated_at"])
        record_audit(
            actor=actor,
            source=source,
            action="provisioning.change_retried",
            company=locked.company,
            target=locked,
            before={"status": ChangeStatus.FAILED, "error": error},
            after={"status": locked.status},
        )
        _enqueue_apply_on_commit(locked.pk)
    return locked


# --- applying (the Celery task's body) ---


def _earlier_open_change(change: PendingChange) -> PendingChange | None:
    if change.user_id is None:
        return None
    return (
        PendingChange.objects.filter(
            user_id=change.user_id, status__in=OPEN_STATUSES, pk__lt=change.pk
        )
        .order_by("pk")
        .first()
    )


def _enqueue_next_on_commit(user_id: int | None) -> None:
    """After a user's change is done, the next approved one for that user may apply."""
    if user_id is None:
        return
    successor = (
        PendingChange.objects.filter(user_id=user_id, status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", "status")
        .first()
    )
    if successor is not None and successor[1] == ChangeStatus.APPROVED:
        _enqueue_apply_on_commit(successor[0])


def user_state(user: User | None) -> dict[str, Any]:
    """The user's fields an approver compares a change with (empty if the user is gone)."""
    if user is None:
        return {}
    state = snapshot(user, USER_STATE_FIELDS)
    state["active"] = user.status == UserStatus.ACTIVE
    office = getattr(user, "office", None)
    state["office_name"] = getattr(office, "name", None)
    number = PhoneNumber.objects.filter(assigned_user=user).select_related("area_code").first()
    state["work_phone"] = number.number if number is not None else None
    state["area_code"] = getattr(number.area_code, "code", None) if number is not None else None
    state["phone_numbers"] = user.phone_numbers
    state["manager_id"] = user.manager_id
    return state


def _apply(change: PendingChange, actor: Actor) -> None:
    user = change.user
    if change.operation == Operation.CREATE:
        if user is None:
            raise DomainError("The reserved user no longer exists: nothing to create.")
        # Another company may have verified the email's domain since the create was queued.
        refuse_email_verified_elsewhere(company=user.company, email=user.email)  # type: ignore[arg-type]
        if change.changes.get("active", True) in (False, "false", "False"):
            members.suspend_member(user=user, actor=actor, source=Source.SCIM)
            return
        # The reserved user already holds profile and office; activation grants the license
        # and number exactly as a direct create would.
        activation = {
            key: change.changes[key]
            for key in ("license_type", "area_code", "work_phone")
            if change.changes.get(key)
        }
        members.update_member(
            user=user, changes={"active": True, **activation}, actor=actor, source=Source.SCIM
        )
    elif change.operation == Operation.UPDATE:
        if user is None:
            raise DomainError("The user no longer exists: nothing to update.")
        members.update_member(user=user, changes=change.changes, actor=actor, source=Source.SCIM)
    elif user is not None:  # delete; a user already gone is the wanted outcome
        members.delete_member(user=user, actor=actor, source=Source.SCIM)


def apply_approved_change(*, change_id: int) -> str:
    """Apply one approved change, at most once; the apply task's body.

    Locks the change and checks its state (running twice changes nothing), waits while an
    earlier change for the same user is still open, then calls the member service. A
    refusal (no free seat, a taken email …) marks the change failed with the service's words
    for the approver, who can fix the cause and retry. Returns what happened: ``applied``,
    ``failed``, ``waiting`` (an earlier change goes first) or ``skipped`` (not approved).
    """
    with transaction.atomic():
        change = (
            PendingChange.objects.select_for_update(of=("self",))
            .select_related("user", "reviewed_by", "company")
            .filter(pk=change_id)
            .first()
        )
        if change is None or change.status != ChangeStatus.APPROVED:
            return "skipped"
        if _earlier_open_change(change) is not None:
            # Applied when the earlier change is done (see _enqueue_next_on_commit).
            return "waiting"
        actor = ApprovedChangeActor(change.pk, change.reviewed_by, change.requested_by_label)
        user_id = change.user_id
        followers = (
            list(
                PendingChange.objects.filter(
                    user_id=user_id, status__in=OPEN_STATUSES, pk__gt=change.pk
                ).values_list("pk", flat=True)
            )
            if change.operation == Operation.DELETE and user_id is not None
            else []
        )
        change.attempts += 1
        change.before = user_state(change.user)
        try:
            with transaction.atomic():
                _apply(change, actor)
        except DomainError as error:
            change.status = ChangeStatus.FAILED
            change.error = error.message[:2000]
        else:
            change.status = ChangeStatus.APPLIED
            change.applied_at = timezone.now()
            change.error = ""
        change.save(
            update_fields=["status", "error", "attempts", "applied_at", "before", "updated_at"]
        )
        record_audit(
            actor=actor,
            source=Source.TASK,
            action=f"provisioning.change_{change.status}",
            company=change.company,
            target=change,
            before={"status": ChangeStatus.APPROVED},
            after={"status": change.status, "error": change.error}
            if change.error
            else {"status": change.status},
        )
        if change.status == ChangeStatus.APPLIED:
            if change.operation == Operation.DELETE:
                _fail_followers_of_deleted_user(change, followers)
            else:
                _enqueue_next_on_commit(user_id)
        return str(change.status)


def _fail_followers_of_deleted_user(change: PendingChange, follower_ids: list[int]) -> None:
    """Later changes for a deleted user can never apply: fail them with the reason."""
    reason = f"The user was deleted by change #{change.pk} before this change could apply."
    for follower in PendingChange.objects.select_for_update().filter(pk__in=follower_ids):
        before = follower.status
        follower.status = ChangeStatus.FAILED
        follower.error = reason
        follower.save(update_fields=["status", "error", "updated_at"])
        record_audit(
            actor=SWEEPER_ACTOR,
            source=Source.TASK,
            action="provisioning.change_failed",
            company=follower.company,
            target=follower,
            before={"status": before},
            after={"status": follower.status, "error": reason},
        )


# --- housekeeping (the periodic sweeper) ---


def unapplied_approved_changes(*, older_than: timedelta = SWEEP_UNAPPLIED_AFTER) -> QuerySet[Any]:
    """Approved changes nobody applied within `older_than` (a worker died, a message was lost)."""
    cutoff = timezone.now() - older_than
    return PendingChange.objects.filter(
        status=ChangeStatus.APPROVED, updated_at__lte=cutoff
    ).order_by("pk")


def reenqueue_unapplied_changes(*, older_than: timedelta = SWEEP_UNAPPLIED_AFTER) -> int:
    """Enqueue the apply task again for approved changes left unapplied; applying is idempotent."""
    ids = list(unapplied_approved_changes(older_than=older_than).values_list("pk", flat=True))
    for change_id in ids:
        APPLY_PENDING_CHANGE.delay(change_id)
    return len(ids)


def expire_stale_changes(
    *, now: datetime | None = None, actor: Actor = EXPIRY_ACTOR, source: str = Source.TASK
) -> int:
    """Expire pending changes older than their company's TTL (default 14 days), audited.

    An expired create removes its reserved user, like a rejection. Returns how many expired.
    """
    now = now or timezone.now()
    ttl_by_company = dict(
        ProvisioningPolicy.objects.values_list("company_id", "pending_change_ttl_days")
    )
    candidates = PendingChange.objects.filter(status=ChangeStatus.PENDING).values_list(
        "pk", "company_id", "created_at"
    )
    stale = [
        pk
        for pk, company_id, created_at in candidates.iterator()
        if created_at
        < now - timedelta(days=ttl_by_company.get(company_id, DEFAULT_PENDING_CHANGE_TTL_DAYS))
    ]
    expired = 0
    for change_id in stale:
        with transaction.atomic():
            change = (
                PendingChange.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user", "company")
                .filter(pk=change_id, status=ChangeStatus.PENDING)
                .first()
            )
            if change is None:
                continue  # decided meanwhile, or another sweeper has it
            days = ttl_by_company.get(change.company_id, DEFAULT_PENDING_CHANGE_TTL_DAYS)
            change.status = ChangeStatus.EXPIRED
            change.review_comment = f"Expired: no decision within {days} days."
            change.save(update_fields=["status", "review_comment", "updated_at"])
            record_audit(
                actor=actor,
                source=source,
                action="provisioning.change_expired",
                company=change.company,
                target=change,
                before={"status": ChangeStatus.PENDING},
                after={"status": ChangeStatus.EXPIRED, "ttl_days": days},
            )
            _close_unapplied(change, ChangeStatus.EXPIRED, "expired", actor=actor, source=source)
            expired += 1
    return expired


def digest_interval() -> timedelta:
    return timedelta(minutes=settings.APPROVAL_DIGEST_INTERVAL_MINUTES)


def send_approver_digests(*, now: datetime | None = None) -> int:
    """Mail each approver one list of the changes queued since the last digest.

    At most one mail per company's approvers per interval (`APPROVAL_DIGEST_INTERVAL_MINUTES`),
    however many changes arrived; concurrent runs skip a company another run holds. Returns the
    number of mails sent.
    """
    now = now or timezone.now()
    messages: list[tuple[str, str, str | None, list[str]]] = []
    company_ids = (
        PendingChange.objects.filter(
            status=ChangeStatus.PENDING, approvers_notified_at__isnull=True
        )
        .values_list("company_id", flat=True)
        .distinct()
    )
    for company_id in list(company_ids):
        with transaction.atomic():
            policy = (
                ProvisioningPolicy.objects.select_for_update(skip_locked=True)
                .select_related("company")
                .filter(company_id=company_id)
                .first()
            )
            if policy is None:
                continue
            if (
                policy.last_digest_at is not None
                and policy.last_digest_at > now - digest_interval()
            ):
                continue
            changes = list(
                PendingChange.objects.filter(
                    company_id=company_id,
                    status=ChangeStatus.PENDING,
                    approvers_notified_at__isnull=True,
                ).order_by("pk")
            )
            approvers = list(
                User.objects.filter(
                    company_id=company_id, is_approver=True, status=UserStatus.ACTIVE
                ).values_list("email", flat=True)
            )
            if not changes or not approvers:
                continue
            PendingChange.objects.filter(pk__in=[c.pk for c in changes]).update(
                approvers_notified_at=now
            )
            policy.last_digest_at = now
            policy.save(update_fields=["last_digest_at"])
            subject, body = _digest_text(policy.company, changes)
            messages.extend(
                (subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in approvers
            )
    if messages:
        send_mass_mail(messages, fail_silently=False)
    return len(messages)


def _digest_text(company: Company, changes: list[PendingChange]) -> tuple[str, str]:
    count = len(changes)
    noun = "change" if count == 1 else "changes"
    subject = f"{count} provisioning {noun} waiting for your approval ({company.name})"
    lines = [
        f"{count} new provisioning {noun} from your identity provider wait for an approver:",
        "",
    ]
    lines.extend(
        f"  #{change.pk}  {change.get_operation_display():<6}  {change.user_label}"
        for change in changes
    )
    lines += [
        "",
        "Review them in Admin Settings › Pending approvals:",
        f"{settings.PUBLIC_BASE_URL}/admin/approvals/pendingchange/?status__exact=pending",
    ]
    return subject, "\n".join(lines)


def pending_count(company_id: int | None) -> int:
    """How many changes of the company wait for a decision (the navigation badge)."""
    if company_id is None:
        return PendingChange.objects.filter(status=ChangeStatus.PENDING).count()
    return PendingChange.objects.filter(company_id=company_id, status=ChangeStatus.PENDING).count()


def open_change_counts(user_ids: list[int]) -> dict[int, int]:
    """Per user, how many changes still wait to apply (SCIM's `pendingChanges`), one query."""
    from django.db.models import Count

    rows = (
        PendingChange.objects.filter(user_id__in=user_ids, status__in=OPEN_STATUSES)
        .values("user_id")
        .annotate(count=Count("pk"))
    )
    return {row["user_id"]: row["count"] for row in rows}
