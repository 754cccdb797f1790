"""Members: every change to a person of a company, whichever door asks for it.

The doors — SCIM (provisioning/scim/), the approval queue (approvals), SAML just-in-time sign-in
(sso), Admin Settings (members/admin.py), the REST API (api), commands — translate their request
into these services: `create_member`, `update_member`, `suspend_member`, `reactivate_member`,
`delete_member`. Licenses, offices and numbers change only through `offices.services`; roles,
passwords and companies through `accounts.services`.

Naming: a service owns its transaction and reads the member locked itself. Its `_locked` variant
(`update_member_locked`, `delete_member_locked`; `offices.services.assign_license_locked` …) is
the same change for a row the caller read with select_for_update in its own open transaction: no
second read and lock of the row, no savepoint. A refusal must then end the caller's transaction:
let the DomainError out of its atomic block.

SCIM and the approval queue speak in a *member change*: a plain, JSON-serializable dict of
domain field names to values (the queue stores it and applies it later, so a change means the
same thing whenever it is applied). `create_member_from_change` and `update_member` take one.

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


Every service audits inside its transaction with the given actor and source, and raises
`accounts.errors.DomainError` (or its `Conflict`/`NotFound`) with a message written for the admin;
nothing is written then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.audit import Actor, Source, audit_batch, record_audit, record_change, snapshot
from accounts.domains import refuse_email_verified_elsewhere
from accounts.errors import Conflict, DomainError, NotFound
from accounts.models import (
    Company,
    LicenseType,
    ManagedBy,
    Role,
    User,
    UserEmail,
    UserPhoneNumber,
    UserStatus,
    lowered_by_database,
)
from accounts.services import (
    PHONE_NUMBER_MAX_LENGTH,
    USER_AUDIT_FIELDS,
    USER_PROFILE_FIELDS,
    clean_choice,
    clean_email,
)
from offices import services as office_services
from offices.models import Office, PhoneNumber
from offices.selectors import main_office

# The profile fields of a member change; the manager travels as `manager_id` (a plain id keeps a
# change JSON-serializable for the approval queue), the preferred area code as `area_code`.
PROFILE_KEYS = frozenset(USER_PROFILE_FIELDS) - {"manager", "preferred_area_code"}
ASSIGNMENT_KEYS = frozenset({"license_type", "office_name", "area_code", "work_phone"})
CHANGE_KEYS = PROFILE_KEYS | ASSIGNMENT_KEYS | {"active", "manager_id"}
DEFAULT_LICENSE_TYPE = LicenseType.TALK


# --- the user row: profile fields, the searched emails and numbers ---


def _clean_profile(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(USER_PROFILE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown user fields: {', '.join(sorted(unknown))}.")
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "email":
            cleaned[name] = clean_email(value)
            continue
        if name == "manager":
            if value is not None and not isinstance(value, User):
                raise DomainError("A manager must be a user of the company.", field="manager")
            cleaned[name] = value
            continue
        if name == "phone_numbers":
            cleaned[name] = None if value is None else _clean_phone_numbers(value)
            continue
        if name == "email_addresses":
            cleaned[name] = _clean_email_addresses(value)
            continue
        if name in {"external_id", "scim_user_name"}:
            value = value if value is None else str(value).strip() or None
        else:
            value = "" if value is None else str(value).strip()
        model_field = User._meta.get_field(name)
        max_length = getattr(model_field, "max_length", None)
        if value is not None and max_length is not None and len(value) > max_length:
            label = getattr(model_field, "verbose_name", name)
            raise DomainError(f"The {label} is longer than {max_length} characters.", field=name)
        cleaned[name] = value
    return cleaned


def _clean_phone_numbers(value: Any) -> list[dict[str, Any]]:
    def clean_number(number: str) -> str:
        # Measured as searched (UserPhoneNumber.value_lower): lower-casing can lengthen ("İ").
        if not 0 < len(number.strip().lower()) <= PHONE_NUMBER_MAX_LENGTH:
            raise DomainError(
                f"A phone number is 1–{PHONE_NUMBER_MAX_LENGTH} characters.", field="phone_numbers"
            )
        return number.strip()

    return _clean_written_values(value, "phone number", "phone_numbers", clean_number)


def _clean_email_addresses(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return _clean_written_values(value, "email", "emails", clean_email)


def _clean_written_values(
    value: Any, label: str, field: str, clean_value: Callable[[str], str]
) -> list[dict[str, Any]]:
    """A multi-valued attribute as the identity provider wrote it: {"value", and when sent
    "type", "primary"} — at most 20, and at most one primary (RFC 7643 §2.4)."""
    if not isinstance(value, list) or len(value) > 20:
        raise DomainError(f"{label.capitalize()}s must be a list of at most 20.", field=field)
    cleaned = []
    for item in value:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("value"), str)
            or not isinstance(item.get("type", ""), str)
            or len(item.get("type", "")) > 30
            or not isinstance(item.get("primary", False), bool)
        ):
            raise DomainError(
                f"Each {label} needs a value, a short type and primary true or false.",
                field=field,
            )
        entry: dict[str, Any] = {"value": clean_value(item["value"])}
        if item.get("type"):
            entry["type"] = item["type"].strip()
        if "primary" in item:
            entry["primary"] = item["primary"]
        cleaned.append(entry)
    if sum(entry.get("primary") is True for entry in cleaned) > 1:
        raise DomainError(f"Only one {label} can be the primary one.", field=field)
    return cleaned


def _with_new_signin_email(user: User, email: str) -> list[dict[str, Any]]:
    """The emails a client wrote, with the sign-in one changed to `email` in place (its type
    and primary flag kept), so the old address does not linger as another email."""
    old = user.email.lower()
    return [
        {**entry, "value": email} if str(entry.get("value", "")).lower() == old else entry
        for entry in user.email_addresses or []
    ]


def _write_emails(user: User) -> None:
    """Insert the rows SCIM `emails` filters search (one query); the caller deleted the old."""
    UserEmail.objects.bulk_create(UserEmail(**row) for row in _searched(user, user.all_emails()))


def _write_phone_numbers(user: User) -> None:
    """Insert the rows SCIM `phoneNumbers` filters search, one per written number (one query,
    none when nothing is written); the caller deleted the old."""
    UserPhoneNumber.objects.bulk_create(
        UserPhoneNumber(**row) for row in _searched(user, user.phone_numbers or [])
    )


def _searched(user: User, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The searched rows' fields of written values; none for a platform operator (no company,
    never in SCIM)."""
    if user.company_id is None:
        return []
    return [
        {
            "company_id": user.company_id,
            "user": user,
            "value_lower": entry["value"].lower(),
            "type": entry.get("type", ""),
            "primary": entry.get("primary", False),
        }
        for entry in entries
    ]


def _save_member(user: User, update_fields: list[str] | None = None) -> None:
    """Save through the ORM, turning the database's uniqueness checks into clear errors.

    No savepoint of its own: the caller's atomic block is the one a Conflict leaves (a failed
    statement ends the PostgreSQL transaction, so nothing may run in it after the error).
    """
    try:
        user.save(update_fields=update_fields)
    except IntegrityError as error:
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") or ""
        if constraint == "user_scim_user_name_unique_per_company":
            raise Conflict(
                f"The userName {user.scim_user_name} is already taken in this company.",
                field="scim_user_name",
            ) from None
        if constraint == "user_external_id_unique_per_company":
            raise Conflict(
                f"The externalId {user.external_id} is already taken in this company.",
                field="external_id",
            ) from None
        # user_email_unique_ci, or the case-exact unique index of the email column
        if constraint == "user_email_unique_ci" or constraint.startswith("accounts_user_email"):
            raise Conflict(
                f"The email {user.email} is already used by another account.", field="email"
            ) from None
        raise


def _update_profile_locked(
    user: User, fields: dict[str, Any], *, actor: Actor, source: str
) -> User:
    """Write the cleaned profile fields that differ, with the rows SCIM filters search."""
    before = snapshot(user, USER_AUDIT_FIELDS)
    if "email" in fields and fields["email"].lower() != user.email.lower() and user.company:
        refuse_email_verified_elsewhere(company=user.company, email=fields["email"])
    if "email" in fields and "email_addresses" not in fields:
        fields["email_addresses"] = _with_new_signin_email(user, fields["email"])
    for name, value in fields.items():
        setattr(user, name, value)
    after = snapshot(user, USER_AUDIT_FIELDS)
    if before == after:
        return user
    _save_member(user, update_fields=[*fields, "updated_at"])
    if (before["email"], before["email_addresses"]) != (after["email"], after["email_addresses"]):
        UserEmail.objects.filter(user=user).delete()
        _write_emails(user)
    if before["phone_numbers"] != after["phone_numbers"]:
        if before["phone_numbers"] is not None:  # None: none written yet, so no rows
            UserPhoneNumber.objects.filter(user=user).delete()
        _write_phone_numbers(user)
    record_change(
        actor=actor,
        source=source,
        action="user.updated",
        company=user.company,
        target=user,
        before=before,
        after=after,
    )
    return user


# --- the member change ---


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
    return clean_choice(str(value), LicenseType, "license_type")


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


def _give_first_number(
    user: User, *, work_phone: str | None, area_code: str | None, actor: Actor, source: str
) -> PhoneNumber | None:
    """A number for a member who starts holding one (created or reactivated): the written
    work number when it is one of the company's, else one from `area_code` or the area code
    kept on the member."""
    return _give_number(
        user,
        pool_number=_written_pool_number(user, work_phone),
        area_code=area_code or user.preferred_area_code,
        actor=actor,
        source=source,
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


# --- creating a member ---


def create_member(
    *,
    company: Company,
    email: str,
    actor: Actor,
    source: str,
    role: str = Role.MEMBER,
    is_approver: bool | None = None,
    password: str | None = None,
    managed_by: str = ManagedBy.MANUAL,
    active: bool = True,
    office: Office | None = None,
    license_type: str = "",
    area_code: str | None = None,
    work_phone: str | None = None,
    **profile: Any,
) -> User:
    """Create a member of the company, with office, license and number, all or nothing.

    `office` defaults to the company's main office (none while it has no office). An active
    member with a `license_type` holds a seat and gets a number: `work_phone` when it is one of
    the company's numbers (it must be free), else one from `area_code`, the office or the company
    reserve (none free: audited as number.none_free, not an error). ``active=False`` creates a
    suspended member who keeps the license type for later but holds no seat and no number.
    `profile` holds the other profile fields (`accounts.services.USER_PROFILE_FIELDS`). Company
    admins approve by default.

    Audits user.created, then for an active licensed member number.assigned and
    license.assigned. Refuses, with nothing written: an invalid or taken email, an email in a
    domain another company verified, a taken userName or externalId, a weak password, another
    company's office, a work number of the company's that is not free, a license type without a
    free seat (DomainError code "no_free_seats" naming the type and the count).
    """
    fields = _clean_profile({"email": email, **profile})
    role = clean_choice(role, Role, "role")
    if license_type:
        license_type = clean_choice(license_type, LicenseType, "license_type")
    if office is not None and office.company_id != company.pk:
        raise DomainError("That office is not one of the company's offices.", field="office")
    refuse_email_verified_elsewhere(company=company, email=fields["email"])
    user = User(
        company=company,
        role=role,
        is_approver=(role == Role.COMPANY_ADMIN) if is_approver is None else is_approver,
        status=UserStatus.ACTIVE if active else UserStatus.SUSPENDED,
        managed_by=managed_by,
        license_type=license_type,
        **fields,
    )
    if password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise DomainError(" ".join(error.messages), field="password") from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic(), audit_batch():
        user.office = office if office is not None else main_office(company.pk)
        _check_user_name_free(company, fields, None)
        _save_member(user)  # with its license type: the database counts the seat (seats_used)
        _write_emails(user)
        _write_phone_numbers(user)
        record_audit(
            actor=actor,
            source=source,
            action="user.created",
            company=company,
            target=user,
            after={
                **snapshot(user, USER_AUDIT_FIELDS),
                **({"office": user.office.name} if user.office is not None else {}),
            },
        )
        office_services.remember_number(user, None)  # just inserted: no number to look up
        # A member created suspended holds no seat and no number; a work number sent with it is
        # used when the member is activated, the area code kept is checked now.
        if not active and user.preferred_area_code:
            office_services.find_user_area_code(user, user.preferred_area_code)
        if active and license_type:
            # The row was inserted in this transaction: no other can see or lock it yet.
            _give_first_number(
                user, work_phone=work_phone, area_code=area_code, actor=actor, source=source
            )
            _claim_seat_of_new_member(user, actor=actor, source=source)
    return user


def _claim_seat_of_new_member(user: User, *, actor: Actor, source: str) -> None:
    """The row was inserted with its license type, so the database already counted the seat (and
    holds the company's seat row until COMMIT): this checks it was free, and audits the claim as
    every other one is."""
    office_services.assign_license_locked(
        user=user, license_type=user.license_type, actor=actor, source=source
    )
    record_audit(
        actor=actor,
        source=source,
        action="license.assigned",
        company=user.company,
        target=user,
        before={"license_type": None},
        after={"license_type": user.license_type},
    )


def create_member_from_change(
    *, company: Company, changes: dict[str, Any], actor: Actor, source: str
) -> User:
    """`create_member` for a member change from the identity provider (SCIM, the approval
    queue): the member is managed by it, an Enterprise feature; without a license type the
    member gets ``talk``, without an office the main office. Also NotFound for an unknown
    office or manager."""
    _check_keys(changes)
    if not company.is_enterprise:
        raise DomainError("Provisioning from an identity provider needs the Enterprise plan.")
    profile = _profile(company, changes)
    email = profile.pop("email", None)
    if not email:
        raise DomainError("A new user needs an email address.", field="email")
    return create_member(
        company=company,
        email=email,
        actor=actor,
        source=source,
        managed_by=ManagedBy.SCIM,
        active=changes.get("active", True),
        office=_office(company, changes["office_name"]) if changes.get("office_name") else None,
        license_type=_license_type(changes.get("license_type") or DEFAULT_LICENSE_TYPE),
        area_code=changes.get("area_code"),
        work_phone=changes.get("work_phone"),
        **profile,
    )


# --- changing a member ---


def update_member(*, user: User, changes: dict[str, Any], actor: Actor, source: str) -> User:
    """Apply a member change: profile at once, then suspend/reactivate, office, license, number.

    Only what differs is written and audited. A change from the identity provider (source
    ``scim``) makes the member managed by it. All or nothing: a refused part (a taken email,
    no free seat, a number of the company's that is not free, an unknown office) leaves the
    user as it was.
    """
    with transaction.atomic():
        return update_member_locked(user=_lock(user), changes=changes, actor=actor, source=source)


def update_member_locked(*, user: User, changes: dict[str, Any], actor: Actor, source: str) -> User:
    """`update_member` for a member the caller read with select_for_update in its open transaction,
    with its company, office, manager and number (as `_lock` reads them): no second read and
    lock of the row, no savepoint. A refusal must end the caller's transaction: let the
    DomainError out of its atomic block."""
    _check_keys(changes)
    with audit_batch():
        company: Company = user.company  # type: ignore[assignment]
        _check_user_name_free(company, changes, user)
        profile = _profile(company, changes)
        if profile:
            user = _update_profile_locked(user, _clean_profile(profile), actor=actor, source=source)
        if source == Source.SCIM:
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


def suspend_member(*, user: User, actor: Actor, source: str) -> User:
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
    """`suspend_member` on a row locked in the caller's transaction."""
    if user.status == UserStatus.SUSPENDED:
        return user
    before = snapshot(user, ("status",))
    office_services.release_number_locked(user=user, actor=actor, source=source)
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


def reactivate_member(
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
    """`reactivate_member` on a row locked in the caller's transaction."""
    if user.status == UserStatus.ACTIVE:
        return user
    wanted = _license_type(license_type or user.license_type or DEFAULT_LICENSE_TYPE)
    before = snapshot(user, ("status",))
    user.status = UserStatus.ACTIVE
    user.save(update_fields=["status", "updated_at"])
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
    _give_first_number(user, work_phone=work_phone, area_code=area_code, actor=actor, source=source)
    return user


def delete_member(*, user: User, actor: Actor, source: str) -> None:
    """Remove the user for good: the number returns to the pool and the license is released."""
    with transaction.atomic():
        delete_member_locked(user=_lock(user), actor=actor, source=source)


def delete_member_locked(*, user: User, actor: Actor, source: str) -> None:
    """`delete_member` for a member the caller read as `update_member_locked` takes it."""
    # Written before the row goes: an event may name the user as its actor.
    with audit_batch():
        before = snapshot(user, USER_AUDIT_FIELDS)
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
