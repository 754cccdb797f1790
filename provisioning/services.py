"""Provisioning: the domain changes an identity provider asks for, whoever applies them.

The SCIM door parses a request into a plain, JSON-serializable *user change* — a dict of domain
field names to values — and calls these services. The approval queue stores the same dict and
calls the same services later, so a change means the same thing whenever it is applied.

Keys a change may hold (every key optional; only the keys present are applied):

- profile: ``email`` (the sign-in email), ``given_name``, ``family_name``, ``middle_name``,
  ``display_name``, ``title``, ``department``, ``division``, ``organization``, ``cost_center``,
  ``employee_number``, ``nick_name``, ``user_type``, ``preferred_language``, ``locale``,
  ``timezone``, ``external_id``, ``scim_user_name``, ``other_phone_numbers`` (list of
  ``{"value", "type"}`` — mobile, home …), ``manager_id`` (a user id of the same company, or None)
- ``active`` (bool): False suspends, True reactivates
- ``license_type`` (``talk`` | ``contact_center`` | ``sales``)
- ``office_name`` (an existing office of the company)
- ``area_code`` (the number is taken from this area code)
- ``work_phone`` (E.164: a free number of the company's pool the user moves to)

Every service owns its transaction: a change applies entirely or not at all, audited with the
given actor and source. They raise `accounts.errors.DomainError` (or its `Conflict`/`NotFound`)
with a message written for the admin.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import transaction

from accounts import services as account_services
from accounts.audit import Actor, record_audit, snapshot
from accounts.errors import DomainError, NotFound
from accounts.models import AuditEvent, Company, LicenseType, ManagedBy, User, UserStatus

PROFILE_KEYS = frozenset(
    {
        "email",
        "given_name",
        "family_name",
        "middle_name",
        "display_name",
        "title",
        "department",
        "division",
        "organization",
        "cost_center",
        "employee_number",
        "nick_name",
        "user_type",
        "preferred_language",
        "locale",
        "timezone",
        "external_id",
        "scim_user_name",
        "other_phone_numbers",
    }
)
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
    return profile


def _manager(company: Company, manager_id: Any) -> User | None:
    if manager_id in (None, ""):
        return None
    try:
        return User.objects.get(company=company, pk=int(manager_id))
    except (TypeError, ValueError, User.DoesNotExist):
        raise NotFound(
            f"The manager '{str(manager_id)[:40]}' is not a user of this company.",
            field="manager_id",
        ) from None


def offices_installed() -> bool:
    """Offices, licenses and numbers come from the offices app (issue 4)."""
    return apps.is_installed("offices")


def _office_services() -> Any:
    from offices import services as office_services

    return office_services


def _find_office(company: Company, name: str) -> Any:
    from offices.models import Office

    office = Office.objects.filter(company=company, name__iexact=(name or "").strip()).first()
    if office is None:
        raise NotFound(
            f"There is no office named '{str(name)[:100]}'. Create it in Admin Settings › "
            "Offices first, or leave the office empty for the main office.",
            field="office_name",
        )
    return office


def _main_office(company: Company) -> Any:
    from offices.models import Office

    return Office.objects.filter(company=company, is_main=True).first()


def _set_managed_by_scim(user: User, *, actor: Actor, source: str) -> None:
    if user.managed_by != ManagedBy.SCIM:
        user.managed_by = ManagedBy.SCIM
        User.objects.filter(pk=user.pk).update(managed_by=ManagedBy.SCIM)
        record_audit(
            actor=actor,
            source=source,
            action="user.managed_by_changed",
            company=user.company,
            target=user,
            before={"managed_by": ManagedBy.MANUAL},
            after={"managed_by": ManagedBy.SCIM},
        )


def _apply_assignments(
    user: User, changes: dict[str, Any], *, actor: Actor, source: str, creating: bool
) -> User:
    """Office, then license, then number: the number is picked from the user's office."""
    if not offices_installed():
        return user
    offices = _office_services()
    if "office_name" in changes and changes["office_name"] not in (None, ""):
        office = _find_office(user.company, changes["office_name"])  # type: ignore[arg-type]
        if getattr(user, "office_id", None) != office.pk:
            offices.move_user_to_office(user=user, office=office, actor=actor, source=source)
    elif creating and getattr(user, "office_id", None) is None:
        main = _main_office(user.company)  # type: ignore[arg-type]
        if main is not None:
            offices.move_user_to_office(user=user, office=main, actor=actor, source=source)
    user.refresh_from_db()
    if user.status != UserStatus.ACTIVE:
        # A suspended user holds no license and no number: those come back on reactivation.
        return user
    wanted = changes.get("license_type") or (
        (user.license_type or DEFAULT_LICENSE_TYPE) if creating else None
    )
    if wanted and (creating or wanted != user.license_type):
        account_services.clean_choice(wanted, LicenseType, "licenseType")
        if user.license_type and not creating:
            offices.release_license(user=user, actor=actor, source=source)
            user.refresh_from_db()
        offices.assign_license(user=user, license_type=wanted, actor=actor, source=source)
    user.refresh_from_db()
    _apply_number(user, changes, actor=actor, source=source, creating=creating)
    return user


def _current_number(user: User) -> Any:
    from offices.models import PhoneNumber

    return PhoneNumber.objects.filter(assigned_user=user).select_related("area_code").first()


def _apply_number(
    user: User, changes: dict[str, Any], *, actor: Actor, source: str, creating: bool
) -> None:
    offices = _office_services()
    current = _current_number(user)
    work_phone = changes.get("work_phone")
    if work_phone:
        if current is not None and current.number == work_phone:
            return
        if current is not None:
            offices.release_number(user=user, actor=actor, source=source)
        offices.assign_specific_number(user=user, number=work_phone, actor=actor, source=source)
        return
    area_code = changes.get("area_code") or None
    current_area = _area_code_of(current)
    if current is not None and (area_code is None or area_code == current_area):
        return
    if current is not None:
        offices.release_number(user=user, actor=actor, source=source)
    if creating or area_code is not None or "active" in changes:
        offices.assign_number(user=user, area_code=area_code, actor=actor, source=source)


def _area_code_of(number: Any) -> str | None:
    if number is None or number.area_code is None:
        return None
    return str(getattr(number.area_code, "code", number.area_code))


def provision_user(*, company: Company, changes: dict[str, Any], actor: Actor, source: str) -> User:
    """Create a user managed by the identity provider, with office, license and number.

    The office defaults to the main office, the license type to ``talk``; ``active: False``
    creates a suspended user holding no license. Refuses (nothing written) a taken email or
    userName, an unknown office, or a license type without a free seat.
    """
    _check_keys(changes)
    if not company.is_enterprise:
        raise DomainError("Provisioning from an identity provider needs the Enterprise plan.")
    profile = _profile(company, changes)
    email = profile.pop("email", None)
    if not email:
        raise DomainError("A new user needs an email address.", field="email")
    active = changes.get("active", True)
    with transaction.atomic():
        user = account_services.create_user(
            company=company,
            email=email,
            actor=actor,
            source=source,
            status=UserStatus.ACTIVE if active else UserStatus.SUSPENDED,
            managed_by=ManagedBy.SCIM,
            **profile,
        )
        return _apply_assignments(user, changes, actor=actor, source=source, creating=True)


def update_user(*, user: User, changes: dict[str, Any], actor: Actor, source: str) -> User:
    """Apply a user change: profile at once, then suspend/reactivate, office, license, number.

    Only what differs is written and audited. All or nothing: a refused part (a taken email,
    no free seat, a number not in the pool) leaves the user as it was.
    """
    _check_keys(changes)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        profile = _profile(user.company, changes)  # type: ignore[arg-type]
        if profile:
            user = account_services.update_user(user=user, actor=actor, source=source, **profile)
        _set_managed_by_scim(user, actor=actor, source=source)
        if "active" in changes:
            if changes["active"] and user.status != UserStatus.ACTIVE:
                user = reactivate_user(
                    user=user,
                    actor=actor,
                    source=source,
                    license_type=changes.get("license_type"),
                    area_code=changes.get("area_code"),
                    work_phone=changes.get("work_phone"),
                )
            elif not changes["active"] and user.status == UserStatus.ACTIVE:
                user = suspend_user(user=user, actor=actor, source=source)
        if set(changes) & ASSIGNMENT_KEYS:
            user = _apply_assignments(user, changes, actor=actor, source=source, creating=False)
        user.refresh_from_db()
    return user


def suspend_user(*, user: User, actor: Actor, source: str) -> User:
    """Block sign-in and free the license and number; the user stays findable."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.status == UserStatus.SUSPENDED:
            return user
        # The suspension's audit row remembers the license (release clears it) for reactivation.
        before = snapshot(user, ("status", "license_type"))
        if offices_installed():
            offices = _office_services()
            if _current_number(user) is not None:
                offices.release_number(user=user, actor=actor, source=source)
            offices.release_license(user=user, actor=actor, source=source)
            user.refresh_from_db()
        user.status = UserStatus.SUSPENDED
        user.save(update_fields=["status", "updated_at"])
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
    """Let a suspended user sign in again: a license (their type, else talk) and a number.

    No free seat: DomainError naming the type and the count, and the user stays suspended.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.status == UserStatus.ACTIVE:
            return user
        before = snapshot(user, ("status",))
        license_type = license_type or user.license_type or _license_before_suspension(user)
        account_services.clean_choice(license_type, LicenseType, "licenseType")
        user.status = UserStatus.ACTIVE
        user.license_type = ""  # assign_license below counts the seat
        user.save(update_fields=["status", "license_type", "updated_at"])
        if offices_installed():
            _office_services().assign_license(
                user=user, license_type=license_type, actor=actor, source=source
            )
            user.refresh_from_db()
            changes: dict[str, Any] = {"active": True}
            if area_code:
                changes["area_code"] = area_code
            if work_phone:
                changes["work_phone"] = work_phone
            if _current_number(user) is None:
                _apply_number(user, changes, actor=actor, source=source, creating=False)
        record_audit(
            actor=actor,
            source=source,
            action="user.reactivated",
            company=user.company,
            target=user,
            before=before,
            after=snapshot(user, ("status",)),
        )
    return user


def _license_before_suspension(user: User) -> str:
    event = (
        AuditEvent.objects.filter(
            action="user.suspended", target_type="accounts.user", target_id=str(user.pk)
        )
        .order_by("-created_at", "-id")
        .first()
    )
    remembered = (event.before or {}).get("license_type") if event is not None else None
    return remembered or DEFAULT_LICENSE_TYPE


def delete_user(*, user: User, actor: Actor, source: str) -> None:
    """Remove the user for good, freeing license and number first."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if offices_installed():
            offices = _office_services()
            if _current_number(user) is not None:
                offices.release_number(user=user, actor=actor, source=source)
            if user.license_type and user.status == UserStatus.ACTIVE:
                offices.release_license(user=user, actor=actor, source=source)
        record_audit(
            actor=actor,
            source=source,
            action="user.deleted",
            company=user.company,
            target=user,
            before=snapshot(user, account_services.USER_AUDIT_FIELDS),
        )
        user.delete()
