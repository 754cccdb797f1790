from __future__ import annotations

import secrets
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from accounts import audit_events


class Plan(models.TextChoices):
    STANDARD = "standard", "Standard"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class LicenseType(models.TextChoices):
    TALK = "talk", "Talk"
    CONTACT_CENTER = "contact_center", "Contact Center"
    SALES = "sales", "Sales"


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1–50 lowercase letters, digits and hyphens, not starting or ending with a hyphen.",
)


class Company(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.STANDARD)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "company profile"
        verbose_name_plural = "company profile"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_enterprise(self) -> bool:
        return self.plan == Plan.ENTERPRISE


class UserCount(models.Model):
    """How many users a company has: the size of its SCIM user list.

    Kept by the database itself, like `LicenseSeats.used`: triggers on the user table
    (accounts/user_count.py) add and take one on every insert and delete, bulk ones included.
    A full page of /scim/v2/Users reads it for `totalResults` instead of counting the company's
    users, which took 14 ms a page at 100,000 users and grows with the company. Never saved from
    Python; a company without users has no row (0).
    """

    company = models.OneToOneField(
        Company, on_delete=models.CASCADE, primary_key=True, related_name="user_count"
    )
    users = models.PositiveIntegerField(default=0, editable=False)

    def __str__(self) -> str:
        return f"{self.company}: {self.users} users"


def new_verification_token() -> str:
    """A claim's own secret, published in DNS to prove the claimer controls the domain."""
    return secrets.token_hex(16)


class DomainStatus(models.TextChoices):
    PENDING = "pending", "Not verified"
    VERIFIED = "verified", "Verified"
    # Another organization verified the domain first: this claim can no longer be verified.
    ENDED = "ended", "Verified by another organization"


class VerificationMethod(models.TextChoices):
    DNS = "dns", "DNS TXT record"
    OPERATOR = "operator", "Platform operator"


class DnsCheck(models.TextChoices):
    """What the last DNS look-up of a claim's TXT record found (accounts.dns)."""

    FOUND = "found", "Record found"
    NO_RECORD = "no_record", "No matching TXT record"
    NXDOMAIN = "nxdomain", "The record's name does not exist (NXDOMAIN)"
    SERVFAIL = "servfail", "The domain's DNS servers failed to answer (SERVFAIL)"
    TIMEOUT = "timeout", "The DNS look-up timed out"
    ERROR = "error", "The DNS look-up failed"


class CompanyDomain(models.Model):
    """A company's claim of an email domain, and whether it is verified.

    Anyone may claim a domain; only a verified claim counts (accounts.domains): it routes the
    domain's people to the company's sign-in and keeps other companies from creating accounts in
    it. A domain is verified by one company at most; several may hold pending claims.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="domains")
    # Stored lower-cased by the service.
    domain = models.CharField(max_length=253)
    token = models.CharField(max_length=64, unique=True, default=new_verification_token)
    status = models.CharField(
        max_length=10, choices=DomainStatus.choices, default=DomainStatus.PENDING
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(
        max_length=10, choices=VerificationMethod.choices, blank=True
    )
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check = models.CharField(max_length=10, choices=DnsCheck.choices, blank=True)
    # A verified domain whose record a check did not find: when it was first missed. Cleared
    # when the record is found again; past the grace period the verification is lost.
    record_missing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "email domain"
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "domain"], name="company_domain_one_claim_per_company"
            ),
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(status="verified"),
                name="company_domain_verified_by_one_company",
            ),
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.status == DomainStatus.VERIFIED


class LicenseSeats(models.Model):
    """How many seats of one license type a company bought, and how many are in use.

    `used` is kept by the database itself: triggers on the user table (accounts migration 0009)
    add or take one whenever a user starts or stops holding a seat (active, with this license
    type) — through any code path, bulk updates and deletes included. A seat check reads it
    under this row's lock (offices.services.assign_license_locked) instead of counting the
    company's users, which grew with every user a sync created. Never saved from Python.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="license_seats")
    license_type = models.CharField(max_length=20, choices=LicenseType.choices)
    seats = models.PositiveIntegerField(default=0)
    used = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = "license"
        verbose_name_plural = "licenses"
        ordering = ["license_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "license_type"], name="license_seats_one_row_per_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_license_type_display()}: {self.seats} seats"


class UserStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    PENDING = "pending", "Pending approval"


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    COMPANY_ADMIN = "company_admin", "Company admin"


class ManagedBy(models.TextChoices):
    SCIM = "scim", "SCIM (identity provider)"
    MANUAL = "manual", "Manual"


def lowered_by_database(text: str) -> Lower:
    """`text` lower-cased as the database lowers the columns of the Lower() unique indexes:
    compare `field__lower` with this, never with Python's `str.lower()`, which lowers some
    letters otherwise ('İ' to 'i' and a combining dot, a word-final 'Σ' to 'ς') and would then
    miss the row the index holds. A constant: PostgreSQL folds it, the index still serves."""
    return Lower(models.Value(text, output_field=models.TextField()))


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        # Sign-in emails match case-insensitively, through the Lower(email) unique index.
        return self.get(email__lower=(username or "").lower())

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        """Platform operators: no company, every company visible (manage.py createsuperuser)."""
        user = self.model(email=self.normalize_email(email), is_superuser=True, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, PermissionsMixin):
    # Null only for platform operators (superusers), who belong to no company.
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="users"
    )
    # Unique as typed and, through user_email_unique_ci, case-insensitively: sign-in ignores case.
    email = models.EmailField(max_length=254, unique=True)
    given_name = models.CharField("first name", max_length=150, blank=True)
    family_name = models.CharField("last name", max_length=150, blank=True)
    middle_name = models.CharField(max_length=150, blank=True)
    # The full name as the identity provider wrote it (SCIM name.formatted); empty: not sent,
    # and the full name is composed from the parts (full_name).
    name_formatted = models.CharField("formatted name", max_length=300, blank=True)
    display_name = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=200, blank=True)
    # Profile data an identity provider sends (SCIM core and enterprise extension).
    division = models.CharField(max_length=200, blank=True)
    organization = models.CharField(max_length=200, blank=True)
    cost_center = models.CharField(max_length=200, blank=True)
    employee_number = models.CharField(max_length=100, blank=True)
    nick_name = models.CharField(max_length=150, blank=True)
    user_type = models.CharField(max_length=100, blank=True)
    # An Accept-Language value (RFC 7231), which may list several tags with weights.
    preferred_language = models.CharField(max_length=100, blank=True)
    locale = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    manager = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    # The phoneNumbers the identity provider wrote, as written: a list of {"value": str, and when
    # sent "type": str, "primary": bool}, read back exactly (RFC 7643). None until it writes
    # any (or after a PUT without them): SCIM then shows the assigned number as the work one.
    # The assigned number itself is the PhoneNumber row; a written work number only moves the
    # user when it is free in the company's pool.
    phone_numbers = models.JSONField(null=True, blank=True, default=None)
    # The area code the identity provider asked the work number to come from (SCIM areaCode),
    # empty when it asked for none. Kept while the user is suspended and holds no number, and
    # used when they get one again; the number actually held may differ when none was free.
    preferred_area_code = models.CharField(max_length=8, blank=True)
    # Every email the identity provider wrote, as written: a list of {"value": str, and when
    # sent "type": str, "primary": bool}. The sign-in `email` is the one chosen among them
    # (primary, else work, else first); the others are profile data.
    email_addresses = models.JSONField(default=list, blank=True)
    # The identity provider's own id for the user (RFC 7643 externalId: case-exact).
    # NULL, not "", when absent: the per-company unique constraints must not count absent values.
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # SCIM userName: unique per company, compared case-insensitively.
    scim_user_name = models.CharField(  # noqa: DJ001
        "SCIM userName", max_length=255, null=True, blank=True
    )
    status = models.CharField(max_length=20, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    is_approver = models.BooleanField(
        default=False, help_text="May approve or reject queued provisioning changes."
    )
    license_type = models.CharField(
        max_length=20, choices=LicenseType.choices, blank=True, default=""
    )
    managed_by = models.CharField(
        max_length=10, choices=ManagedBy.choices, default=ManagedBy.MANUAL
    )
    # Where the user sits; their phone number comes from this office's pool. An office with
    # users cannot be deleted (offices.services.delete_office says so; RESTRICT backs it up).
    office = models.ForeignKey(
        "offices.Office",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="users",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["family_name", "given_name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.UniqueConstraint(
                "company", Lower("scim_user_name"), name="user_scim_user_name_unique_per_company"
            ),
            models.UniqueConstraint(
                fields=["company", "external_id"], name="user_external_id_unique_per_company"
            ),
            models.CheckConstraint(
                condition=models.Q(company__isnull=False) | models.Q(is_superuser=True),
                name="user_has_company_unless_platform_operator",
            ),
        ]
        indexes = [
            # SCIM pages a company's users in id order (startIndex): an index-only scan, so a
            # page deep in the list skips index entries, not table rows.
            models.Index(fields=["company", "id"], name="user_company_pages"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.given_name, self.family_name) if part)

    # Django's auth and admin read these two: a suspended or pending user cannot sign in, and
    # only company admins (or platform operators) may open Admin Settings.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.status == UserStatus.ACTIVE

    @property
    def is_staff(self) -> bool:
        return self.is_superuser or (self.company_id is not None and self.is_company_admin)

    @property
    def is_company_admin(self) -> bool:
        return self.role == Role.COMPANY_ADMIN

    @property
    def role_label(self) -> str:
        """What this person is, in words: "Platform operator", "Company admin", "Approver",
        "Company admin, approver" or "Member"."""
        if self.is_superuser:
            return "Platform operator"
        if self.is_approver:
            return "Company admin, approver" if self.is_company_admin else "Approver"
        return str(self.get_role_display())

    def audit_identity(self) -> tuple[str, User | None, str]:
        return ("user", self, self.email)

    def all_emails(self) -> list[dict[str, Any]]:
        return all_emails(self.email, self.email_addresses)


def all_emails(email: str, email_addresses: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every email of a user, the sign-in one among them, as SCIM shows them: the emails the
    client wrote; when the sign-in email is not among them (set by an admin, or never written
    by a client), it comes first as the primary work email and the others are no longer
    primary."""
    written = [dict(entry) for entry in email_addresses or []]
    signin = email.lower()
    match = next((e for e in written if str(e.get("value", "")).lower() == signin), None)
    if match is not None:
        match["value"] = email
        return written
    for entry in written:
        entry.pop("primary", None)
    return [{"value": email, "type": "work", "primary": True}, *written]


class UserEmail(models.Model):
    """One of `User.all_emails()`, kept by accounts.services with the user: what SCIM filters on
    `emails` search, through an index, instead of the JSON list. Internal, never edited."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    value_lower = models.CharField(max_length=254)
    type = models.CharField(max_length=30, blank=True)
    primary = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["company", "value_lower"], name="user_email_company_value")]

    def __str__(self) -> str:
        return self.value_lower


class UserPhoneNumber(models.Model):
    """One of the phoneNumbers the identity provider wrote (`User.phone_numbers`), kept by
    accounts.services with the user: what SCIM filters on `phoneNumbers` search, through an
    index, instead of the JSON list. A user with none written has no rows (SCIM shows, and
    filters find, the assigned number instead). Internal, never edited."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    # phoneNumbers.value is caseExact:false; a written value may hold letters ("tel:…", "ext").
    value_lower = models.CharField(max_length=50)
    type = models.CharField(max_length=30, blank=True)
    primary = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["company", "value_lower"], name="user_phone_company_value")]

    def __str__(self) -> str:
        return self.value_lower


class AuditEvent(models.Model):
    """Append-only record of every domain change: written by services, never edited."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    # Who: a user, an API key, the system, or an anonymous client known by its IP.
    actor_kind = models.CharField(max_length=20)
    actor_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=300)
    source = models.CharField(max_length=20)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = "audit event"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="audit_company_recent"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        # The label an admin reads ("User suspended by Grace Hopper"), never the code.
        return f"{audit_events.label(self.action)} by {self.actor_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only.")
