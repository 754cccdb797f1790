"""Every write the SCIM door makes: the member services for users, the office services for
groups, and the approval queue that decides whether a change applies now or waits for an
approver (202). Called here and nowhere else in the door."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError

from accounts.audit import Source
from accounts.models import User
from approvals.scim import queue_if_required
from members import services
from offices.models import Office
from provisioning import groups
from provisioning.scim.changes import GroupChanges, UserChanges
from provisioning.scim.errors import ScimError
from provisioning.scim.request import Context

T = TypeVar("T")


def create_user(context: Context, changes: UserChanges) -> tuple[User, bool]:
    """The new user, and whether the create waits for an approver (the user is then reserved:
    pending, inactive, no license)."""
    return _apply_or_queue(
        context,
        "create",
        None,
        changes,
        lambda: services.create_member_from_change(
            company=context.company, changes=changes, actor=context.key, source=Source.SCIM
        ),
    )


def update_user(context: Context, user: User, changes: UserChanges) -> tuple[User, bool]:
    """The user as written (a locked user, `selectors.user_to_write`), and whether the change
    waits for an approver (the user is then as it stands)."""
    return _apply_or_queue(
        context,
        "update",
        user,
        changes,
        lambda: services.update_member_locked(
            user=user, changes=changes, actor=context.key, source=Source.SCIM
        ),
    )


def delete_user(context: Context, user: User) -> bool:
    """Delete a locked user; True when the delete waits for an approver instead."""
    _, queued = _apply_or_queue(
        context,
        "delete",
        user,
        {},
        lambda: services.delete_member_locked(user=user, actor=context.key, source=Source.SCIM),
    )
    return queued


def _apply_or_queue(
    context: Context,
    operation: str,
    user: User | None,
    changes: UserChanges,
    apply: Callable[[], Any],
) -> tuple[Any, bool]:
    """Apply a validated change now, or queue it for an approver (True). Queued, a create's
    user is the reserved one; an update's or delete's, the user untouched."""
    queued = _unique(
        lambda: queue_if_required(
            request=context.request,
            company=context.company,
            operation=operation,
            user=user,
            changes=changes,
            actor=context.key,
            open_changes=getattr(user, "pending_change_count", None),  # counted with the lock
        )
    )
    if queued is not None:
        return queued.user, True
    return _unique(apply), False


def _unique(action: Callable[[], T]) -> T:
    """Run a service; a lost race on a unique index is a 409, like the service's own check."""
    try:
        return action()
    except IntegrityError:
        raise ScimError(
            409,
            "Another resource with the same userName, externalId or email exists.",
            "uniqueness",
        ) from None


def create_group(context: Context, wanted: GroupChanges) -> tuple[Office, bool]:
    """The new office, and whether some members' moves wait for an approver (they are not in it
    yet)."""
    move, queued = _member_mover(context)
    office = groups.create_group(
        company=context.company,
        name=wanted.name,
        member_ids=wanted.member_ids,
        external_id=wanted.external_id,
        actor=context.key,
        source=Source.SCIM,
        move_user=move,
    )
    return office, bool(queued)


def update_group(
    context: Context, office: Office, current: GroupChanges, wanted: GroupChanges
) -> bool:
    """Change a locked office from `current` to `wanted`: its name, and who joins and who leaves
    (of the members the locked read found; anyone who joined since is left as they are). True
    when some members' moves wait for an approver."""
    move, queued = _member_mover(context)
    groups.update_group(
        office=office,
        name=wanted.name,
        add=wanted.member_ids - current.member_ids,
        remove=current.member_ids - wanted.member_ids,
        external_id=wanted.external_id,
        actor=context.key,
        source=Source.SCIM,
        move_user=move,
    )
    return bool(queued)


def delete_group(context: Context, office: Office) -> None:
    groups.delete_group(office=office, actor=context.key, source=Source.SCIM)


def _member_mover(context: Context) -> tuple[groups.MoveUser, list[Any]]:
    """Moving a member is an update of that user: it waits for an approver when the company's
    policy covers updates (or the user has changes waiting), else applies now. The list holds
    the changes queued."""
    queued: list[Any] = []
    move_now = groups.move_now(context.key, Source.SCIM)

    def move(user: User, office: Office) -> None:
        change = queue_if_required(
            request=context.request,
            company=context.company,
            operation="update",
            user=user,
            changes={"office_name": office.name},
            actor=context.key,
        )
        if change is None:
            move_now(user, office)
        else:
            queued.append(change)

    return move, queued
