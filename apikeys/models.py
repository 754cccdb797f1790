from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Company, User


class Scope(models.TextChoices):
    SCIM = "scim", "SCIM provisioning"
    API_READ = "api:read", "REST API: read"
    API_WRITE = "api:write", "REST API: write"
    API_APPROVE = "api:approve", "REST API: approve changes"


def default_scopes() -> list[str]:
    return [Scope.SCIM.value]


class APIKeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class APIKey(models.Model):
    """A company's bearer token for SCIM and the REST API. Only a hash of the secret is kept.

    Written only by `apikeys.services` (create, revoke, authenticate's last-used stamp).
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(
        max_length=100, help_text="Who uses the key, e.g. “OneLogin provisioning”."
    )
    # `sbk_` and 12 random characters: the start of the key, not secret, shown in lists and
    # the one indexed lookup of authentication.
    prefix = models.CharField(max_length=20, unique=True, editable=False)
    # SHA-256 (hex) of the whole key; see apikeys/tokens.py for why a fast hash is right here.
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=default_scopes)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Stamped at most once a minute per key, not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API Keys"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def audit_identity(self) -> tuple[str, User | None, str]:
        return ("api_key", None, f"API key '{self.name}' ({self.prefix}…)")

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def status(self) -> APIKeyStatus:
        if self.revoked_at is not None:
            return APIKeyStatus.REVOKED
        if self.is_expired:
            return APIKeyStatus.EXPIRED
        return APIKeyStatus.ACTIVE
