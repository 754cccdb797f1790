from celery import shared_task

from accounts import domains
from accounts.audit import Source, SystemActor
from config.celery import TRANSIENT_RETRY


@shared_task(name="accounts.check_domains", acks_late=True, **TRANSIENT_RETRY)
def check_domains() -> int:
    """Celery beat, hourly: look up the claims due (`domains.claims_to_check`): pending ones,
    hourly in their first week and then daily, and each domain verified by DNS once a day
    (losing the verification after the grace period). Safe to run twice. Returns how many
    claims were looked up."""
    claims = domains.claims_to_check(due_only=True)
    return len(domains.check_claims(claims, actor=SystemActor("domain check"), source=Source.TASK))
