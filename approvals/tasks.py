"""Celery work of the approval queue. Each task takes ids and leaves the rest to the services.

Transient failures (the database or the broker went away) are retried with backoff; a refusal
by the domain is not an error here: the change is marked failed for the approver to see.
"""

from __future__ import annotations

from celery import shared_task

from approvals import services
from config.celery import TRANSIENT_RETRY


# The outcome is recorded on the change itself: no result to store.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, **TRANSIENT_RETRY)
def apply_pending_change(change_id: int) -> str:
    """Apply an approved change once (locked, state-checked, in per-user arrival order)."""
    return services.apply_approved_change(change_id=int(change_id))


@shared_task(acks_late=True, **TRANSIENT_RETRY)
def sweep_pending_changes() -> dict[str, int]:
    """Re-enqueue approved changes a dead worker left unapplied; expire stale pending ones."""
    return {
        "reenqueued": services.reenqueue_unapplied_changes(),
        "expired": services.expire_stale_changes(),
    }


@shared_task(acks_late=True, **TRANSIENT_RETRY)
def send_approval_digests() -> int:
    """One mail per approver listing the changes queued since their last digest."""
    return services.send_approver_digests()
