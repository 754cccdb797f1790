"""The approval queue's door into SCIM: the one question the SCIM views ask before a write."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.audit import Actor, Source
from accounts.models import Company, User
from approvals import services
from approvals.models import PendingChange


def request_record(request: HttpRequest) -> dict[str, Any]:
    """The request as received, for the approver and the record."""
    try:
        body = request.body.decode("utf-8", errors="replace")
    except Exception:  # the body was already streamed away: keep what we can
        body = ""
    return {"method": request.method or "", "path": request.get_full_path(), "body": body}


def queue_if_required(
    *,
    request: HttpRequest,
    company: Company,
    operation: str,
    user: User | None,
    changes: dict[str, Any],
    actor: Actor,
    open_changes: int | None = None,
) -> PendingChange | None:
    """Queue a validated SCIM change when it must wait for an approver; else None (apply now).

    `open_changes`: how many of the user's changes wait, when the caller counted them with the
    locked user (`pending_change_count`); None asks here. Raises DomainError for a change
    that would be refused if applied: the client gets its 4xx now, not at approval time.
    """
    if not services.must_queue(company, operation, user, open_changes=open_changes):
        return None
    return services.queue_change(
        company=company,
        operation=operation,
        user=user,
        changes=changes,
        request_record=request_record(request),
        actor=actor,
        source=Source.SCIM,
    )
