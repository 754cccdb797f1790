"""Every write to companies, domains, seats, roles and passwords. Views, admin and commands
call these; members are created and changed by `members.services`.

Each service owns its transaction, audits inside it, and raises `DomainError` (nothing written)
for input the domain refuses.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts import seats_used
from accounts.audit import Actor, record_audit, record_change, snapshot
from accounts.domains import add_company_domain, clean_domain
from accounts.errors import Conflict, DomainError
from accounts.models import (
    Company,
    LicenseSeats,
    LicenseType,
    Plan,
    Role,
    User,
    UserPhoneNumber,
    UserStatus,
    slug_validator,
)

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
