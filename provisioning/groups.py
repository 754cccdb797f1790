"""SCIM Groups are offices. A user is in exactly one office: adding a member moves them here,
removing one moves them back to the main office. Writes go through `offices.services`.

Each member move is one user's office change: the caller may pass `move_user` to decide how it
happens (the SCIM view queues it for an approver when the company's policy covers updates);
by default the user moves now.

A group created by a client is a new office in the main office's country and time zone (SCIM
groups carry neither); without any office yet it is the company's first, main office, in the
US and UTC. The admin corrects both under Admin Settings › Offices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction

from accounts.audit import Actor
from accounts.errors import DomainError, NotFound
from accounts.models import Company, User
from offices import services as office_services
from offices.models import Office

DEFAULT_COUNTRY = "US"
DEFAULT_TIMEZONE = "UTC"

MoveUser = Callable[[User, Office], None]


def move_now(actor: Actor, source: str) -> MoveUser:
    def move(user: User, office: Office) -> None:
        office_services.move_user_to_office(user=user, office=office, actor=actor, source=source)

    return move


def _users(company: Company, ids: Iterable[int]) -> list[User]:
    wanted = set(ids)
    users = list(User.objects.filter(company=company, pk__in=wanted).order_by("pk"))
    missing = wanted - {user.pk for user in users}
    if missing:
        raise NotFound(
            f"There is no user with id {sorted(missing)[0]} in this company.", field="members"
        )
    return users


def _move_in(company: Company, office: Office, ids: Iterable[int], move: MoveUser) -> None:
    for user in _users(company, ids):
        if user.office_id != office.pk:
            move(user, office)


def _move_out(company: Company, office: Office, ids: set[int], move: MoveUser) -> None:
    if not ids:
        return
    main = Office.objects.filter(company=company, is_main=True).first()
    if main is None or main.pk == office.pk:
        raise DomainError(
            f"Members cannot be removed from the main office {office.name}: everyone sits in "
            "exactly one office. Add them to another office instead.",
            field="members",
        )
    for user in _users(company, ids):
        if user.office_id == office.pk:
            move(user, main)


def create_group(
    *,
    company: Company,
    name: str,
    member_ids: Iterable[int],
    actor: Actor,
    source: str,
    external_id: str | None = None,
    move_user: MoveUser | None = None,
) -> Office:
    """A new office named `name` (country and time zone of the main office) holding the users
    `member_ids` (moved from their offices), with the identity provider's `external_id`.
    Conflict for a taken name or externalId, NotFound for a user id not of the company;
    nothing is written then."""
    main = Office.objects.filter(company=company, is_main=True).first()
    with transaction.atomic():
        office = office_services.create_office(
            company=company,
            name=name,
            country=main.country if main else DEFAULT_COUNTRY,
            timezone=main.timezone if main else DEFAULT_TIMEZONE,
            external_id=external_id,
            actor=actor,
            source=source,
        )
        _move_in(company, office, member_ids, move_user or move_now(actor, source))
    return office


def update_group(
    *,
    office: Office,
    name: str,
    member_ids: set[int] | None,
    actor: Actor,
    source: str,
    external_id: str | None = None,
    move_user: MoveUser | None = None,
) -> Office:
    """Rename the office, set its `external_id` (None clears it: a PUT without one) and make
    its members exactly `member_ids` (None: leave them): users added move here, users left out
    move to the main office (refused for the main office)."""
    company: Company = office.company
    with transaction.atomic():
        office = office_services.update_office(office=office, name=name, actor=actor, source=source)
        office = office_services.set_office_external_id(
            office=office, external_id=external_id, actor=actor, source=source
        )
        if member_ids is not None:
            current = set(User.objects.filter(office=office).values_list("pk", flat=True))
            move = move_user or move_now(actor, source)
            _move_out(company, office, current - member_ids, move)
            _move_in(company, office, member_ids - current, move)
    return office


def delete_group(*, office: Office, actor: Actor, source: str) -> None:
    """Delete an empty office; one with members or numbers is refused, saying what to move."""
    office_services.delete_office(office=office, actor=actor, source=source)
