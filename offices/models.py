from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from accounts.models import Company
from offices.phone import country_name, format_international


class Office(models.Model):
    """Where people of a company sit: a name, a country and a time zone. One is the main office."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="offices")
    # Up to 256 characters: a SCIM Group's displayName is the office name, and Entra allows 256.
    name = models.CharField(max_length=256)
    # ISO 3166 alpha-2, upper case; validated by the services against the numbering plans.
    country = models.CharField(max_length=2)
    # An IANA time zone name ("America/Los_Angeles"), validated with zoneinfo.
    timezone = models.CharField(max_length=64)
    is_main = models.BooleanField("main office", default=False)
    # The identity provider's id for the office as a SCIM Group (RFC 7643 externalId:
    # case-exact). NULL when absent, so the per-company unique constraint ignores it.
    external_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_main", "name"]
        constraints = [
            models.UniqueConstraint(
                "company", Lower("name"), name="office_name_unique_per_company"
            ),
            # At most one main office per company; the services keep it at exactly one.
            models.UniqueConstraint(
                fields=["company"],
                condition=models.Q(is_main=True),
                name="office_one_main_per_company",
            ),
            models.UniqueConstraint(
                fields=["company", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="office_external_id_unique_per_company",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def country_name(self) -> str:
        return country_name(self.country)


class AreaCode(models.Model):
    """Global reference data (not tenant-owned): an area code of a country and where it is.

    North America's are loaded from the phonenumbers library by a data migration; others are
    added from the same library the first time a number in them is imported.
    """

    country = models.CharField(max_length=2)
    code = models.CharField(max_length=8)
    region = models.CharField("region name", max_length=200, blank=True)

    class Meta:
        ordering = ["country", "code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="area_code_unique_per_country")
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.region} ({self.country})" if self.region else self.code


class NumberStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    ASSIGNED = "assigned", "Assigned"


class PhoneNumber(models.Model):
    """A number the company owns: in an office's pool, or (office empty) in the company reserve.

    A number has at most one user and a user at most one number: `assigned_user` is one-to-one.
    Its status is derived from `assigned_user`, so the two can never disagree; deleting a user
    returns their number to the pool.
    """

    # E.164, unique across the whole product: a number belongs to one company.
    number = models.CharField(max_length=16, unique=True)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="phone_numbers")
    office = models.ForeignKey(
        Office,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="phone_numbers",
        help_text="Empty: the number is in the company reserve, usable by any office.",
    )
    country = models.CharField(max_length=2)
    # Null for numbers without a geographic area code (toll-free, mobile, non-geographic).
    area_code = models.ForeignKey(
        AreaCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="phone_number",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "phone number"
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(number__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="phone_number_is_e164",
            )
        ]
        indexes = [
            # The free-number search: a company's unassigned numbers by office and area code.
            models.Index(
                fields=["company", "office", "area_code", "number"],
                condition=models.Q(assigned_user__isnull=True),
                name="phone_number_free",
            )
        ]

    def __str__(self) -> str:
        return self.formatted

    @property
    def formatted(self) -> str:
        return format_international(self.number)

    @property
    def status(self) -> str:
        return NumberStatus.AVAILABLE if self.assigned_user_id is None else NumberStatus.ASSIGNED
