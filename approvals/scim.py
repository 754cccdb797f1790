"""The approval queue's door into SCIM: the one question the SCIM views ask before a write."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from accounts.audit import Actor, Source
from accounts.models import Company, User
from approvals import services
from approvals.models import OPEN_STATUSES, PendingChange


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
    must_queue: bool | None = None,
) -> PendingChange | None:
    """Queue a validated SCIM change when it must wait for an approver; else None (apply now).

    `must_queue` is the answer when the caller read it with the user (`with_must_queue`);
    None asks here. Raises DomainError for a change that would be refused if applied: the
    client gets its 4xx now, not at approval time.
    """
    if must_queue is None:
        must_queue = services.must_queue(company, operation, user)
    if not must_queue:
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


def with_pending_change_counts(queryset: QuerySet[User]) -> QuerySet[User]:
    """Annotate `pending_change_count` (changes not yet applied) in the same query."""
    counts = (
        PendingChange.objects.filter(user_id=OuterRef("pk"), status__in=OPEN_STATUSES)
        .order_by()
        .values("user_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return queryset.annotate(
        pending_change_count=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))
    )


def with_must_queue(queryset: QuerySet[User], operation: str) -> QuerySet[User]:
    """Annotate `must_queue`: whether `operation` on the user waits for an approver
    (`approvals.services.must_queue`), in the same query."""
    return queryset.annotate(must_queue=services.must_queue_for_user_rows(operation))
