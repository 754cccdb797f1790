from __future__ import annotations

from django.db import models

from accounts.models import Company, LicenseType


class SAMLConfig(models.Model):
    """One company's SAML identity provider (OneLogin, Okta, Entra …) and sign-in policy.

    Written only by `sso.services.configure_saml`. Certificates are stored as PEM; the second one
    exists for rollover: a response signed by either is accepted.
    """

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="saml_config")
    idp_entity_id = models.CharField("IdP entity ID", max_length=1024)
    idp_sso_url = models.URLField("IdP SSO URL", max_length=1024)
    idp_slo_url = models.URLField("IdP SLO URL", max_length=1024, blank=True)
    idp_certificate = models.TextField("certificate")
    idp_certificate_2 = models.TextField("second certificate", blank=True)
    enabled = models.BooleanField("SSO enabled", default=False)
    enforce_sso = models.BooleanField("enforce SSO", default=False)
    allow_idp_initiated = models.BooleanField("allow IdP-initiated sign-in", default=False)
    jit_provisioning = models.BooleanField("just-in-time user creation", default=False)
    jit_license_type = models.CharField(
        "license for just-in-time users",
        max_length=20,
        choices=LicenseType.choices,
        default=LicenseType.TALK,
    )
    allow_admin_password_login = models.BooleanField(
        "break-glass password sign-in for company admins", default=True
    )
    sign_requests = models.BooleanField("sign requests", default=False)
    # The IdP settings (sso.services.settings_fingerprint) of the last successful Test sign-in:
    # Enforce SSO can be switched on from the settings page only for settings that worked.
    tested_fingerprint = models.CharField(max_length=64, blank=True)
    tested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SAML configuration"

    def __str__(self) -> str:
        return f"SAML SSO for {self.company}"

    @property
    def certificates(self) -> list[str]:
        return [pem for pem in (self.idp_certificate, self.idp_certificate_2) if pem]


class SeenAssertion(models.Model):
    """Assertion ids already consumed, kept until they expire: the replay store.

    In the database so every web process shares it; the unique constraint makes "first use
    wins" atomic. `sso.services.purge_seen_assertions` deletes expired rows (Celery beat).
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    assertion_id = models.CharField(max_length=256)
    not_on_or_after = models.DateTimeField(db_index=True)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "assertion_id"], name="seen_assertion_once_per_company"
            )
        ]

    def __str__(self) -> str:
        return self.assertion_id
