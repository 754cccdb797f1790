from celery import shared_task

from config.celery import TRANSIENT_RETRY
from sso.services import purge_seen_assertions


@shared_task(name="sso.purge_seen_assertions", **TRANSIENT_RETRY)
def purge_seen_assertions_task() -> int:
    """Drop replay-store rows past their expiry (Celery beat, hourly). Safe to run twice."""
    return purge_seen_assertions()
