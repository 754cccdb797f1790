"""Celery work of the accounts app."""

from __future__ import annotations

from celery import shared_task

from accounts import retention
from config.celery import TRANSIENT_RETRY


@shared_task(acks_late=True, ignore_result=True, **TRANSIENT_RETRY)
def apply_audit_retention() -> int:
    """Delete (after exporting, when configured) audit events past AUDIT_RETENTION_DAYS."""
    return retention.apply_audit_retention()
