"""Celery work of the approval queue. Each task takes ids and leaves the rest to the services.

Transient failures (the database or the broker went away) are retried with backoff; a refusal
by the domain is not an error here: the change is marked failed for the approver to see.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from approvals import services
from config.celery import TRANSIENT_RETRY


# The outcome is recorded on the change itself: no result to store. The time limits bound how
# long an apply can run, which is what the sweeper's grace follows (SWEEP_UNAPPLIED_AFTER).
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=services.APPLY_TIME_LIMIT_SECONDS,
    soft_time_limit=services.APPLY_TIME_LIMIT_SECONDS - 10,
    **TRANSIENT_RETRY,
)
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


@shared_task(acks_late=True, ignore_result=True, **TRANSIENT_RETRY)
def recover_unapplied_changes() -> int:
    """Sent when a worker starts consuming (at start and after a broker reconnect): approved
    changes left unapplied — by a worker that died holding their messages, which the broker
    gives back only after its visibility timeout, or by an outage that lost the queue — are
    sent again now, whatever their age. Each is applied once (idempotent)."""
    return services.reenqueue_unapplied_changes(older_than=timedelta(0))


@shared_task(acks_late=True, **TRANSIENT_RETRY)
def send_approval_digests() -> int:
    """One mail per approver listing the changes queued since their last digest."""
    return services.send_approver_digests()
