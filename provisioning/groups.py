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
from accounts.errors import NotFound
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


def _locked_users(
    company: Company, ids: Iterable[int], *, required: Iterable[int] | None = None
) -> list[User]:
    """The company's users `ids`, locked in order of id; NotFound for one of `required` (by
    default all of them) that is not one."""
    wanted = set(ids)
    users = list(
        User.objects.select_for_update(of=("self",))
        .filter(company=company, pk__in=wanted)
        .order_by("pk")
    )
    missing = set(wanted if required is None else required) - {user.pk for user in users}
    if missing:
        raise NotFound(f"There is no user with id {min(missing)} in this company.", field="members")
    return users


def change_members(
    *,
    office: Office,
    add: Iterable[int],
    remove: Iterable[int],
    actor: Actor,
    source: str,
    move_user: MoveUser | None = None,
) -> None:
    """Move the users `add` into `office` and the users `remove` out of it, to the main office,
    as they stand now: the caller holds the office locked, and each user is read locked here,
    all in order of id, so that a concurrent change of one of them (a user's own update, a
    write of another group) is either before this one or after it, never undone by it, and two
    writes locking the same users cannot deadlock.

    A user added who is already in the office, or removed who no longer is (or no longer
    exists), is left as is. Removing from the main office leaves the user there: everyone sits
    in exactly one office, and the main office is where a user removed from any office goes.
    NotFound for an added id that is not a user of the company; nothing is moved then."""
    added, removed = set(add), set(remove) - set(add)
    if not (added or removed):
        return
    company: Company = office.company
    move = move_user or move_now(actor, source)
    with transaction.atomic():
        # One statement, so that all are locked in order of id; a removed user who no longer
        # exists is simply not there.
        users = _locked_users(company, added | removed, required=added)
        main = None
        for user in users:
            if user.pk in added and user.office_id != office.pk:
                move(user, office)
            elif user.pk in removed and user.office_id == office.pk and not office.is_main:
                main = main or Office.objects.get(company=company, is_main=True)
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
    move = move_user or move_now(actor, source)
    with transaction.atomic():
        # The members before the company's row (which create_office locks): a member's own
        # write commits holding the member and then needs a lock on the company's row.
        members = _locked_users(company, member_ids)
        office = office_services.create_office(
            company=company,
            name=name,
            country=main.country if main else DEFAULT_COUNTRY,
            timezone=main.timezone if main else DEFAULT_TIMEZONE,
            external_id=external_id,
            actor=actor,
            source=source,
        )
        for user in members:
            move(user, office)
    return office


def update_group(
    *,
    office: Office,
    name: str,
    add: Iterable[int],
    remove: Iterable[int],
    actor: Actor,
    source: str,
    external_id: str | None = None,
    move_user: MoveUser | None = None,
) -> Office:
    """Rename the office, set its `external_id` (None clears it: a PUT without one) and apply
    the membership changes `add` and `remove` (`change_members`) to it as it stands. The
    caller holds `office` locked in its transaction."""
    with transaction.atomic():
        office = office_services.update_office(office=office, name=name, actor=actor, source=source)
        office = office_services.set_office_external_id(
            office=office, external_id=external_id, actor=actor, source=source
        )
        change_members(
            office=office, add=add, remove=remove, actor=actor, source=source, move_user=move_user
        )
    return office


def delete_group(*, office: Office, actor: Actor, source: str) -> None:
    """Delete the office, its members moved to the main office first
    (`offices.services.close_office`)."""
    office_services.close_office(office=office, actor=actor, source=source)
