"""The read every SSO door starts with: the company of /sso/<slug>/ and its SAML settings, in one
indexed query, so `sso.services.saml_config_for(company)` answers without another."""

from __future__ import annotations

from accounts.models import Company


def company_with_saml_config(slug: str) -> Company | None:
    """The company with this slug, its SAML settings loaded (`company.saml_config`); or None."""
    return Company.objects.select_related("saml_config").filter(slug=slug).first()
