"""SCIM Groups are offices. A user is in exactly one office: adding a member moves them here,
removing one moves them back to the main office. Writes go through the offices services."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.audit import Actor, Source
from accounts.errors import DomainError, NotFound
from accounts.models import Company, User
from provisioning.scim.errors import invalid_value


def _member_ids(body: dict[str, Any]) -> set[int]:
    members = body.get("members") or []
    if not isinstance(members, list):
        raise invalid_value("members must be a list of objects with a value.")
    ids: set[int] = set()
    for member in members:
        value = member.get("value") if isinstance(member, dict) else None
        try:
            ids.add(int(str(value)))
        except (TypeError, ValueError):
            raise invalid_value(f"'{str(value)[:40]}' is not a user id.") from None
    return ids


def _display_name(body: dict[str, Any]) -> str:
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise invalid_value("displayName (the office name) is required.")
    return name.strip()


def _users(company: Company, ids: set[int]) -> list[User]:
    users = list(User.objects.filter(company=company, pk__in=ids))
    missing = ids - {u.pk for u in users}
    if missing:
        raise NotFound(f"No user with id {sorted(missing)[0]} in this company.", field="members")
    return users


def _move_members(
    company: Company, office: Any, before: set[int], after: set[int], actor: Actor
) -> None:
    from offices import services as office_services
    from offices.models import Office

    for user in _users(company, after - before):
        office_services.move_user_to_office(
            user=user, office=office, actor=actor, source=Source.SCIM
        )
    leaving = before - after
    if leaving:
        main = Office.objects.filter(company=company, is_main=True).first()
        if main is None or main.pk == office.pk:
            raise DomainError(
                f"Members cannot be removed from the main office {office.name}: a user is "
                "always in one office. Add them to another office instead.",
                field="members",
            )
        for user in _users(company, leaving):
            office_services.move_user_to_office(
                user=user, office=main, actor=actor, source=Source.SCIM
            )


def create_group(company: Company, body: dict[str, Any], *, actor: Actor) -> Any:
    """POST /Groups: a new office (country and time zone of the main office) with members."""
    from offices import services as office_services
    from offices.models import Office

    name = _display_name(body)
    members = _member_ids(body)
    main = Office.objects.filter(company=company, is_main=True).first()
    with transaction.atomic():
        office = office_services.create_office(
            company=company,
            name=name,
            country=main.country if main else "US",
            timezone=main.timezone if main else "UTC",
            actor=actor,
            source=Source.SCIM,
        )
        _move_members(company, office, set(), members, actor)
    return office


def update_group(
    company: Company, office: Any, current: dict[str, Any], wanted: dict[str, Any], *, actor: Actor
) -> None:
    """PUT/PATCH: rename, and move users in and out to match the wanted members."""
    from offices import services as office_services

    name = _display_name(wanted)
    with transaction.atomic():
        if name != office.name:
            office_services.rename_office(office=office, name=name, actor=actor, source=Source.SCIM)
        _move_members(company, office, _member_ids(current), _member_ids(wanted), actor)


def delete_group(office: Any, *, actor: Actor) -> None:
    from offices import services as office_services

    office_services.delete_office(office=office, actor=actor, source=Source.SCIM)
