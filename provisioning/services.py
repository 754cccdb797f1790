"""Provisioning: the domain changes an identity provider asks for, whoever applies them.

The SCIM door parses a request into a plain, JSON-serializable *user change* — a dict of domain
field names to values — and calls these services. The approval queue stores the same dict and
calls the same services later, so a change means the same thing whenever it is applied.

Keys a change may hold (every key optional; only the keys present are applied):

- profile: ``email`` (the sign-in email), ``given_name``, ``family_name``, ``middle_name``,
  ``display_name``, ``title``, ``department``, ``division``, ``organization``, ``cost_center``,
  ``employee_number``, ``nick_name``, ``user_type``, ``preferred_language``, ``locale``,
  ``timezone``, ``external_id``, ``scim_user_name``, ``phone_numbers`` (every phone number as
  written: ``{"value", "type"?, "primary"?}``, or None for the server's default: the assigned
  number), ``name_formatted`` (the full name as written),
  ``email_addresses`` (every email as written: ``{"value", "type"?, "primary"?}``; the
  sign-in ``email`` is one of them), ``manager_id`` (a user id of the same company, or None)
- ``active`` (bool): False suspends, True reactivates
- ``license_type`` (``talk`` | ``contact_center`` | ``sales``; a new user without one gets
  ``talk``)
- ``office_name`` (an existing office of the company; a new user without one sits in the main
  office)
- ``area_code`` (the number is taken from this area code when one is free there; kept on the
  user as ``preferred_area_code`` for later numbers — a suspended user's reactivation — and
  None or "" clears it)
- ``work_phone`` (E.164, the written work number: when it is one of the company's numbers the
  user moves to it, which must be free; any other number is only profile data)

Licenses, offices and numbers change only through `offices.services`: a seat is held by an
active user with a license type; suspending keeps the type (the seat frees itself by the status
change) and releases the number; reactivating claims the seat again and a number.

Every service owns its transaction: a change applies entirely or not at all, audited with the
given actor and source. They raise `accounts.errors.DomainError` (or its `Conflict`/`NotFound`)
with a message written for the admin.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts import services as account_services
from accounts.audit import Actor, audit_batch, record_audit, snapshot
from accounts.errors import Conflict, DomainError, NotFound
from accounts.models import (
    Company,
    LicenseType,
    ManagedBy,
    User,
    UserStatus,
    lowered_by_database,
)
from core import sql
from offices import services as office_services
from offices.models import Office, PhoneNumber
from offices.selectors import main_office

# The profile fields accounts.services.update_user takes; the manager travels as `manager_id`
# (a plain id keeps a change JSON-serializable for the approval queue).
PROFILE_KEYS = frozenset(account_services.USER_PROFILE_FIELDS) - {"manager", "preferred_area_code"}
ASSIGNMENT_KEYS = frozenset({"license_type", "office_name", "area_code", "work_phone"})
CHANGE_KEYS = PROFILE_KEYS | ASSIGNMENT_KEYS | {"active", "manager_id"}
DEFAULT_LICENSE_TYPE = LicenseType.TALK


def _check_keys(changes: dict[str, Any]) -> None:
    unknown = set(changes) - CHANGE_KEYS
    if unknown:
        raise DomainError(f"Unknown user change fields: {', '.join(sorted(unknown))}.")


def _profile(company: Company, changes: dict[str, Any]) -> dict[str, Any]:
    profile = {key: value for key, value in changes.items() if key in PROFILE_KEYS}
    if "manager_id" in changes:
        profile["manager"] = _manager(company, changes["manager_id"])
    if "area_code" in changes:
        code = str(changes["area_code"] or "").strip()
        profile["preferred_area_code"] = office_services.clean_area_code(code) if code else ""
    return profile


def _manager(company: Company, manager_id: Any) -> User | None:
    if manager_id in (None, ""):
        return None
    try:
        return User.objects.get(company=company, pk=int(manager_id))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        raise NotFound(
            f"The manager '{str(manager_id)[:40]}' is not a user of this company.",
            field="manager_id",
        ) from None


def _check_user_name_free(company: Company, changes: dict[str, Any], user: User | None) -> None:
    """A user made outside SCIM has no userName: SCIM finds them by their sign-in email
    (`userName eq`), which is their userName then, and no other user may take it (the filter
    would find two). Only a userName that is not the user's own email needs the look-up: the
    emails' own uniqueness settles that one."""
    name = changes.get("scim_user_name")
    if not name or (user is not None and (user.scim_user_name or "").lower() == name.lower()):
        return
    email = changes.get("email") or (user.email if user is not None else "")
    if name.lower() == str(email).lower():
        return
    found = User.objects.filter(
        company=company, scim_user_name__isnull=True, email__lower=lowered_by_database(name)
    )
    if user is not None:
        found = found.exclude(pk=user.pk)
    if found.exists():
        raise Conflict(
            f"The userName {name} is the sign-in email of another user of this company, who "
            "has no userName yet (a filter on it finds them): update that user instead.",
            field="scim_user_name",
        )


def _license_type(value: Any) -> str:
    return account_services.clean_choice(str(value), LicenseType, "license_type")


def _office(company: Company, name: Any) -> Office:
    office = office_services.get_office_by_name(company=company, name=str(name or ""))
    if office is None:
        raise NotFound(
            f"There is no office named '{str(name)[:100]}'. Create it under Admin Settings › "
            "Offices first, or leave the office empty for the main office.",
            field="office_name",
        )
    return office


def _give_number(
    user: User,
    *,
    pool_number: str | None,
    area_code: str | None,
    actor: Actor,
    source: str,
) -> PhoneNumber | None:
    """For a user locked (or inserted) in the caller's transaction: `pool_number` (a written
    work number that is one of the company's, see `_written_pool_number`: it must be free),
    else the number they hold or a free one from `area_code`, the office, or the company
    reserve."""
    if pool_number:
        try:
            return office_services.assign_specific_number_locked(
                user=user, number=pool_number, actor=actor, source=source
            )
        except DomainError as error:
            # Held by someone else is not a uniqueness clash of this resource: a plain refusal.
            raise DomainError(
                error.message, field="work_phone", code="number_unavailable"
            ) from None
    return office_services.assign_number_locked(
        user=user, area_code=area_code or None, actor=actor, source=source
    )


def _written_pool_number(user: User, number: str | None) -> str | None:
    """The written work number when it is one of the company's numbers, else None: any other
    is only profile data (a desk phone from before)."""
    return number if number and office_services.is_company_number(user, number) else None


def _set_managed_by_scim(user: User, *, actor: Actor, source: str) -> None:
    if user.managed_by != ManagedBy.SCIM:
        User.objects.filter(pk=user.pk).update(managed_by=ManagedBy.SCIM)
        user.managed_by = ManagedBy.SCIM
        record_audit(
            actor=actor,
            source=source,
            action="user.managed_by_changed",
            company=user.company,
            target=user,
            before={"managed_by": ManagedBy.MANUAL},
            after={"managed_by": ManagedBy.SCIM},
        )


def provision_user(*, company: Company, changes: dict[str, Any], actor: Actor, source: str) -> User:
    """Create a user managed by the identity provider, with office, license and number.

    The office defaults to the main office, the license type to ``talk``; the row is inserted
    with both, `assign_number` gives a number (the written ``work_phone``, else from
    ``area_code``/office/reserve), and last `assign_license` claims the seat under its lock.
    ``active: False`` creates a suspended user who keeps the license type for later but holds
    no seat and no number. Refuses, with nothing written: a taken email or userName, an unknown
    office, a work number of the company's that is not free, a license type without a free seat
    (DomainError code "no_free_seats" naming the type and the count).
    """
    _check_keys(changes)
    if not company.is_enterprise:
        raise DomainError("Provisioning from an identity provider needs the Enterprise plan.")
    profile = _profile(company, changes)
    email = profile.pop("email", None)
    if not email:
        raise DomainError("A new user needs an email address.", field="email")
    active = changes.get("active", True)
    license_type = _license_type(changes.get("license_type") or DEFAULT_LICENSE_TYPE)
    with transaction.atomic():
        _check_user_name_free(company, changes, None)
        with audit_batch():
            office = (
                _office(company, changes["office_name"])
                if changes.get("office_name")
                else main_office(company.pk)
            )
            user = account_services.create_user_in_transaction(
                company=company,
                email=email,
                actor=actor,
                source=source,
                status=UserStatus.ACTIVE if active else UserStatus.SUSPENDED,
                managed_by=ManagedBy.SCIM,
                office=office,
                license_type=license_type,
                **profile,
            )
            office_services.remember_number(user, None)  # just inserted: no number to look up
            # A user created suspended holds no seat and no number; a work number sent with it
            # is used when the client activates the user (see update_user), the area code kept is.
            if not active and user.preferred_area_code:
                office_services.find_user_area_code(user, user.preferred_area_code)
            if active:
                # The row was inserted in this transaction: no other can see or lock it yet.
                _give_number(
                    user,
                    pool_number=_written_pool_number(user, changes.get("work_phone")),
                    area_code=changes.get("area_code"),
                    actor=actor,
                    source=source,
                )
        if active:
            # The row was inserted with its license type, so the database already counted the
            # seat (and holds the company's seat row until COMMIT): this checks it was free.
            user = office_services.assign_license_locked(
                user=user, license_type=license_type, actor=actor, source=source
            )
    return user


def update_user(*, user: User, changes: dict[str, Any], actor: Actor, source: str) -> User:
    """Apply a user change: profile at once, then suspend/reactivate, office, license, number.

    Only what differs is written and audited. All or nothing: a refused part (a taken email,
    no free seat, a number of the company's that is not free, an unknown office) leaves the
    user as it was.
    """
    with transaction.atomic():
        return update_user_locked(user=_lock(user), changes=changes, actor=actor, source=source)


def update_user_locked(*, user: User, changes: dict[str, Any], actor: Actor, source: str) -> User:
    """`update_user` for a user the caller read with select_for_update in its open transaction,
    with its company, office, manager and number (as `_lock` reads them): no second read and
    lock of the row, no savepoint. A refusal must end the caller's transaction: let the
    DomainError out of its atomic block."""
    _check_keys(changes)
    with audit_batch():
        company: Company = user.company  # type: ignore[assignment]
        _check_user_name_free(company, changes, user)
        profile = _profile(company, changes)
        if profile:
            user = account_services.update_locked_user(
                user=user, actor=actor, source=source, **profile
            )
        _set_managed_by_scim(user, actor=actor, source=source)
        if changes.get("office_name"):
            office = _office(company, changes["office_name"])
            if user.office_id != office.pk:
                user = office_services.move_user_to_office(
                    user=user, office=office, actor=actor, source=source
                )
        activating = changes.get("active") is True and user.status != UserStatus.ACTIVE
        if changes.get("active") is False and user.status == UserStatus.ACTIVE:
            user = _suspend_locked(user, actor=actor, source=source)
        if activating:
            user = _reactivate_locked(
                user,
                actor=actor,
                source=source,
                license_type=changes.get("license_type"),
                area_code=changes.get("area_code"),
                work_phone=changes.get("work_phone"),
            )
        else:
            user = _change_assignments(user, changes, actor=actor, source=source)
    return user


def _change_assignments(user: User, changes: dict[str, Any], *, actor: Actor, source: str) -> User:
    license_type = changes.get("license_type")
    if license_type and _license_type(license_type) != user.license_type:
        # Active: switching types claims the new seat and frees the old one. Not active: only
        # the type is recorded, for reactivation.
        user = office_services.assign_license_locked(
            user=user, license_type=license_type, actor=actor, source=source
        )
    # A suspended user holds no number. Clients resend their whole template on every PUT,
    # the suspending one included (OneLogin's custom areaCode/officeName/licenseType), so a
    # number or area code for a user who is not active is not an error: the area code is kept
    # (preferred_area_code, checked here) for reactivation, a work number must come again.
    if user.status != UserStatus.ACTIVE:
        if changes.get("area_code"):
            office_services.find_user_area_code(user, user.preferred_area_code)
        return user
    pool_number = _written_pool_number(user, changes.get("work_phone"))
    if changes.get("area_code") or pool_number:
        _give_number(
            user,
            pool_number=pool_number,
            area_code=changes.get("area_code"),
            actor=actor,
            source=source,
        )
    return user


def suspend_user(*, user: User, actor: Actor, source: str) -> User:
    """Block sign-in and release the number; the user stays findable.

    The license type is kept (it is what reactivation claims again); its seat is free from the
    status change on, since only active users hold seats. Already suspended: nothing changes.
    """
    with transaction.atomic(), audit_batch():
        return _suspend_locked(_lock(user), actor=actor, source=source)


def _lock(user: User) -> User:
    """The user, locked, with what the services and the SCIM response read: its company,
    office, manager and number (kept up to date by the services as they change them)."""
    return (
        User.objects.select_for_update(of=("self",))
        .select_related("company", "office", "manager", "phone_number__area_code")
        .get(pk=user.pk)
    )


def _suspend_locked(user: User, *, actor: Actor, source: str) -> User:
    """`suspend_user` on a row locked in the caller's transaction."""
    if user.status == UserStatus.SUSPENDED:
        return user
    before = snapshot(user, ("status",))
    office_services.release_number_locked(user=user, actor=actor, source=source)
    user.status = UserStatus.SUSPENDED
    sql.update(user, ["status", "updated_at"])
    record_audit(
        actor=actor,
        source=source,
        action="user.suspended",
        company=user.company,
        target=user,
        before=before,
        after=snapshot(user, ("status",)),
    )
    return user


def reactivate_user(
    *,
    user: User,
    actor: Actor,
    source: str,
    license_type: str | None = None,
    area_code: str | None = None,
    work_phone: str | None = None,
) -> User:
    """Let a suspended (or pending) user sign in again, with a seat and a number.

    The seat claimed is `license_type` when the change names one, else the type the user kept,
    else ``talk``; the number comes from `area_code`, else the user's preferred area code. No
    free seat: DomainError (code "no_free_seats") naming the type and the count, and the user
    stays as they were. Already active: nothing changes.
    """
    with transaction.atomic(), audit_batch():
        return _reactivate_locked(
            _lock(user),
            actor=actor,
            source=source,
            license_type=license_type,
            area_code=area_code,
            work_phone=work_phone,
        )


def _reactivate_locked(
    user: User,
    *,
    actor: Actor,
    source: str,
    license_type: str | None,
    area_code: str | None,
    work_phone: str | None,
) -> User:
    """`reactivate_user` on a row locked in the caller's transaction."""
    if user.status == UserStatus.ACTIVE:
        return user
    wanted = _license_type(license_type or user.license_type or DEFAULT_LICENSE_TYPE)
    before = snapshot(user, ("status",))
    user.status = UserStatus.ACTIVE
    sql.update(user, ["status", "updated_at"])
    record_audit(
        actor=actor,
        source=source,
        # A reserved user made active is the approved create taking effect, not a comeback.
        action="user.activated" if before["status"] == UserStatus.PENDING else "user.reactivated",
        company=user.company,
        target=user,
        before=before,
        after=snapshot(user, ("status",)),
    )
    user = office_services.assign_license_locked(
        user=user, license_type=wanted, actor=actor, source=source
    )
    _give_number(
        user,
        pool_number=_written_pool_number(user, work_phone),
        area_code=area_code or user.preferred_area_code,
        actor=actor,
        source=source,
    )
    return user


def delete_user(*, user: User, actor: Actor, source: str) -> None:
    """Remove the user for good: the number returns to the pool and the license is released."""
    with transaction.atomic():
        delete_user_locked(user=_lock(user), actor=actor, source=source)


def delete_user_locked(*, user: User, actor: Actor, source: str) -> None:
    """`delete_user` for a user the caller read as `update_user_locked` takes it."""
    # Written before the row goes: an event may name the user as its actor.
    with audit_batch():
        before = snapshot(user, account_services.USER_AUDIT_FIELDS)
        office_services.release_number_locked(user=user, actor=actor, source=source)
        user = office_services.release_license_locked(user=user, actor=actor, source=source)
        record_audit(
            actor=actor,
            source=source,
            action="user.deleted",
            company=user.company,
            target=user,
            before=before,
        )
    user.delete()
