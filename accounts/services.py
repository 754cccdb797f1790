"""Every write to companies, domains, seats and users. Views, admin and commands call these.

Each service owns its transaction, audits inside it, and raises `DomainError` (nothing written)
for input the domain refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.password_validation import password_changed, validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts import seats_used
from accounts.audit import Actor, record_audit, record_change, snapshot
from accounts.domains import add_company_domain, clean_domain, refuse_email_verified_elsewhere
from accounts.errors import Conflict, DomainError
from accounts.models import (
    Company,
    LicenseSeats,
    LicenseType,
    ManagedBy,
    Plan,
    Role,
    User,
    UserEmail,
    UserPhoneNumber,
    UserStatus,
    slug_validator,
)
from core import sql

COMPANY_FIELDS = ("name", "slug", "plan")
USER_PROFILE_FIELDS = (
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
    "manager",
    "phone_numbers",
    "name_formatted",
    "email_addresses",
    "preferred_area_code",
)
USER_AUDIT_FIELDS = (
    *USER_PROFILE_FIELDS,
    "status",
    "role",
    "is_approver",
    "license_type",
    "managed_by",
)


# --- validation shared by the services (and by forms that want the same words) ---


# The columns a written email or phone number is kept and searched in (UserEmail, User.email,
# UserPhoneNumber): longer is refused with a clear error, not a database one.
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length or 254
PHONE_NUMBER_MAX_LENGTH = UserPhoneNumber._meta.get_field("value_lower").max_length or 50


def clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(f"'{email[:100]}' is not a valid email address.", field="email") from None
    # Addresses match case-insensitively, so lower-casing must not turn a look-alike into an ASCII
    # letter: the validator lets the KELVIN SIGN through, and '\u212aate@' would match 'kate@'.
    if any(not char.isascii() and char.lower().isascii() for char in email):
        raise DomainError(f"'{email[:100]}' is not a valid email address.", field="email")
    local, _, domain = email.rpartition("@")
    cleaned = f"{local}@{domain.lower()}"
    # The validator lets up to 320 through, and lower-casing can lengthen a domain ("İ").
    if len(cleaned.lower()) > EMAIL_MAX_LENGTH:
        raise DomainError(
            f"'{email[:100]}…' is longer than {EMAIL_MAX_LENGTH} characters.", field="email"
        )
    return cleaned


def clean_slug(slug: str) -> str:
    try:
        slug_validator(slug)
    except ValidationError as error:
        raise DomainError(f"'{slug[:60]}': {error.messages[0]}", field="slug") from None
    return slug


def clean_choice(
    value: str, choices: type[Plan | Role | LicenseType | UserStatus], field: str
) -> str:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise DomainError(
            f"Unknown {field} '{str(value)[:50]}'. Use one of: {allowed}.", field=field
        )
    return value


# --- companies ---


def create_company(
    *,
    name: str,
    slug: str,
    actor: Actor,
    source: str,
    plan: str = Plan.STANDARD,
    domains: list[str] | tuple[str, ...] = (),
) -> Company:
    """Create a company with its email domains and an empty seat row per license type."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise DomainError("A company needs a name of 1–200 characters.", field="name")
    slug = clean_slug(slug)
    plan = clean_choice(plan, Plan, "plan")
    cleaned_domains = [clean_domain(domain) for domain in domains]
    with transaction.atomic():
        if Company.objects.filter(slug=slug).exists():
            raise Conflict(f"The slug '{slug}' is taken by another company.", field="slug")
        company = Company.objects.create(name=name, slug=slug, plan=plan)
        LicenseSeats.objects.bulk_create(
            LicenseSeats(company=company, license_type=license_type, seats=0)
            for license_type in LicenseType.values
        )
        record_audit(
            actor=actor,
            source=source,
            action="company.created",
            company=company,
            target=company,
            after=snapshot(company, COMPANY_FIELDS),
        )
        for domain in cleaned_domains:
            add_company_domain(company=company, domain=domain, actor=actor, source=source)
    return company


def update_company(
    *, company: Company, actor: Actor, source: str, name: str | None = None, plan: str | None = None
) -> Company:
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company.pk)
        before = snapshot(company, COMPANY_FIELDS)
        if name is not None:
            name = name.strip()
            if not name or len(name) > 200:
                raise DomainError("A company needs a name of 1–200 characters.", field="name")
            company.name = name
        if plan is not None:
            company.plan = clean_choice(plan, Plan, "plan")
        after = snapshot(company, COMPANY_FIELDS)
        if before != after:
            company.save()
            record_change(
                actor=actor,
                source=source,
                action="company.updated",
                company=company,
                target=company,
                before=before,
                after=after,
            )
    return company


SEATS_ARE_THE_OPERATORS = (
    "Seats are bought: only your account manager can change how many you have. "
    "Ask your account manager for more seats, or free one by suspending a user who no longer "
    "needs it."
)


def is_operator(actor: Actor) -> bool:
    """The platform operator: a superuser, or the system itself (commands, tasks)."""
    kind, user, _label = actor.audit_identity()
    if kind == "system":
        return True
    return kind == "user" and user is not None and user.is_superuser


def set_license_seats(
    *, company: Company, license_type: str, seats: int, actor: Actor, source: str
) -> LicenseSeats:
    """Set how many seats of a license type the company has bought; never below the seats in use.

    Seats are bought, so only the platform operator changes them: `actor` is a superuser or the
    system (a command, a task). A company admin, an API key or anyone else is refused with
    "ask your account manager" (`code="operator_only"`), and nothing is written. Audited as
    `license.seats_changed` when the number changes.
    """
    if not is_operator(actor):
        raise DomainError(SEATS_ARE_THE_OPERATORS, field="seats", code="operator_only")
    license_type = clean_choice(license_type, LicenseType, "license_type")
    if not isinstance(seats, int) or isinstance(seats, bool) or not 0 <= seats <= 1_000_000:
        raise DomainError("Seats must be a whole number from 0 to 1,000,000.", field="seats")
    with transaction.atomic():
        row, created = LicenseSeats.objects.select_for_update().get_or_create(
            company=company, license_type=license_type
        )
        if created:
            seats_used.recount(row)  # the triggers count only into rows that exist
        in_use = row.used
        if seats < in_use:
            label = LicenseType(license_type).label
            raise DomainError(
                f"{in_use} users hold a '{label}' license: seats cannot go below {in_use}. "
                "Release licenses first.",
                field="seats",
            )
        if row.seats != seats:
            before = {"license_type": license_type, "seats": row.seats}
            row.seats = seats
            row.save(update_fields=["seats"])
            record_audit(
                actor=actor,
                source=source,
                action="license.seats_changed",
                company=company,
                target=row,
                before=before,
                after={"license_type": license_type, "seats": seats},
            )
    return row


# --- users ---


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
    _write_searched_values(UserEmail, user, user.all_emails())


def _write_phone_numbers(user: User) -> None:
    """Insert the rows SCIM `phoneNumbers` filters search, one per written number (one query,
    none when nothing is written); the caller deleted the old."""
    _write_searched_values(UserPhoneNumber, user, user.phone_numbers or [])


def _write_searched_values(
    model: type[UserEmail | UserPhoneNumber], user: User, entries: list[dict[str, Any]]
) -> None:
    if user.company_id is None:
        return  # a platform operator: no company, never in SCIM
    sql.insert(
        [
            model(
                company_id=user.company_id,
                user=user,
                value_lower=entry["value"].lower(),
                type=entry.get("type", ""),
                primary=entry.get("primary", False),
            )
            for entry in entries
        ]
    )


def _save_user(user: User, update_fields: list[str] | None = None) -> None:
    """Insert or update, turning the database's uniqueness checks into clear errors.

    No savepoint of its own: the caller's atomic block is the one a Conflict leaves (a failed
    statement ends the PostgreSQL transaction, so nothing may run in it after the error).
    A new user is one INSERT built once (core/sql.py): every SCIM create writes one.
    """
    try:
        if user._state.adding:
            sql.insert([user])
            # What AbstractBaseUser.save() does after a save: a new password is announced to
            # the validators, once.
            password = getattr(user, "_password", None)
            if password is not None:
                password_changed(password, user)
                user._password = None  # type: ignore[attr-defined]
        elif update_fields is not None and getattr(user, "_password", None) is None:
            sql.update(user, update_fields)  # built once: every SCIM update writes one
        else:
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


def create_user(*, company: Company, email: str, actor: Actor, source: str, **options: Any) -> User:
    """Create a user of the company in a transaction of its own (a savepoint when nested): see
    `create_user_in_transaction` for the options, what it checks and what it raises."""
    with transaction.atomic():
        return create_user_in_transaction(
            company=company, email=email, actor=actor, source=source, **options
        )


def create_user_in_transaction(
    *,
    company: Company,
    email: str,
    actor: Actor,
    source: str,
    role: str = Role.MEMBER,
    is_approver: bool | None = None,
    password: str | None = None,
    status: str = UserStatus.ACTIVE,
    managed_by: str = ManagedBy.MANUAL,
    office: Any = None,
    license_type: str = "",
    **profile: Any,
) -> User:
    """Create a user of the company, in the caller's open transaction (no savepoint: a refusal
    must end that transaction — let the DomainError out of its atomic block). Company admins
    approve by default.

    `office` (one of the company's) and `license_type` are written with the row, so a new user
    is one INSERT. A license type on an *active* user holds a seat: the caller must claim it with
    `offices.services.assign_license` in the same transaction (it counts the seat under the seat
    row's lock and refuses when none is free, which rolls this creation back).

    Raises DomainError for an invalid or taken email, an email in a domain another company
    verified, a taken userName or externalId, a weak password, another company's office or an
    unknown license type.
    """
    fields = _clean_profile({"email": email, **profile})
    role = clean_choice(role, Role, "role")
    status = clean_choice(status, UserStatus, "status")
    if license_type:
        license_type = clean_choice(license_type, LicenseType, "license_type")
    if office is not None and office.company_id != company.pk:
        raise DomainError("That office is not one of the company's offices.", field="office")
    refuse_email_verified_elsewhere(company=company, email=fields["email"])
    user = User(
        company=company,
        role=role,
        is_approver=(role == Role.COMPANY_ADMIN) if is_approver is None else is_approver,
        status=status,
        managed_by=managed_by,
        office=office,
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
    _save_user(user)
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
            **({"office": office.name} if office is not None else {}),
        },
    )
    return user


def update_user(*, user: User, actor: Actor, source: str, **changes: Any) -> User:
    """Change profile fields (email, names, title, department, externalId, userName).

    Only what differs is written and audited; a taken email or userName raises Conflict.
    """
    fields = _clean_profile(changes)
    with transaction.atomic():
        user = (
            User.objects.select_for_update(of=("self",)).select_related("company").get(pk=user.pk)
        )
        return _apply_profile(user, fields, actor=actor, source=source)


def update_locked_user(*, user: User, actor: Actor, source: str, **changes: Any) -> User:
    """`update_user` for a user the caller read with select_for_update in its open transaction
    (no second read and lock of the row, no savepoint). A refusal must end the caller's
    transaction: let the DomainError out of its atomic block."""
    return _apply_profile(user, _clean_profile(changes), actor=actor, source=source)


def _apply_profile(user: User, fields: dict[str, Any], *, actor: Actor, source: str) -> User:
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
    _save_user(user, update_fields=[*fields, "updated_at"])
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


def change_role(
    *, user: User, actor: Actor, source: str, role: str, is_approver: bool | None = None
) -> User:
    """Make a user a member or a company admin (and approver or not).

    Refuses to demote the company's last company admin: someone must keep the keys.
    """
    role = clean_choice(role, Role, "role")
    with transaction.atomic():
        user = (
            User.objects.select_for_update(of=("self",)).select_related("company").get(pk=user.pk)
        )
        before = snapshot(user, USER_AUDIT_FIELDS)
        if user.role == Role.COMPANY_ADMIN and role != Role.COMPANY_ADMIN:
            admins = User.objects.select_for_update().filter(
                company=user.company, role=Role.COMPANY_ADMIN, status=UserStatus.ACTIVE
            )
            if not admins.exclude(pk=user.pk).exists():
                raise DomainError(
                    f"{user.email} is the company's last company admin. "
                    "Make someone else an admin first.",
                    field="role",
                )
        user.role = role
        if is_approver is not None:
            user.is_approver = is_approver
        after = snapshot(user, USER_AUDIT_FIELDS)
        if before == after:
            return user
        user.save(update_fields=["role", "is_approver", "updated_at"])
        record_change(
            actor=actor,
            source=source,
            action="user.role_changed",
            company=user.company,
            target=user,
            before=before,
            after=after,
        )
    return user


def set_user_password(*, user: User, password: str, actor: Actor, source: str) -> User:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise DomainError(" ".join(error.messages), field="password") from None
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password", "updated_at"])
        record_audit(
            actor=actor,
            source=source,
            action="user.password_set",
            company=user.company,
            target=user,
        )
    return user
