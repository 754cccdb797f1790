from __future__ import annotations

import math
from functools import partial
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.core.exceptions import ValidationError
from django.template.defaultfilters import pluralize

from accounts import services as account_services
from accounts.audit import ClientActor, Source
from accounts.errors import DomainError
from accounts.models import LicenseType, User
from core.request_context import current_client_ip
from sso import services
from sso.certificates import normalize_certificate


class EmailForm(forms.Form):
    email = forms.EmailField(
        label="Work email",
        max_length=254,
        widget=forms.EmailInput(
            attrs={"autocomplete": "username", "autofocus": True, "inputmode": "email"}
        ),
    )


class PasswordForm(forms.Form):
    email = forms.EmailField(
        label="Work email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    # The template's id for the form-wide error ("Wrong email or password.", a throttle).
    ERROR_ID = "sign-in-error"

    def add_error(self, field: str | None, error: Any) -> None:
        """A refused sign-in marks the password as the field in error and ties the message to
        it, so a screen reader announces it on the field a person retypes."""
        super().add_error(field, error)
        if field is None and "password" in self.fields:
            self.fields["password"].widget.attrs.update(
                {"aria-invalid": "true", "aria-describedby": self.ERROR_ID}
            )


class SAMLSettingsForm(forms.Form):
    """The SAML SSO settings page. Validation of the values themselves is the service's."""

    idp_entity_id = forms.CharField(
        label="IdP entity ID",
        required=False,
        max_length=1024,
        help_text="OneLogin calls it the Issuer URL, e.g. https://app.onelogin.com/saml/metadata/…",
        widget=forms.TextInput(attrs={"size": 70, "spellcheck": "false"}),
    )
    idp_sso_url = forms.CharField(
        label="IdP SSO URL",
        required=False,
        max_length=1024,
        help_text="OneLogin: SAML 2.0 Endpoint (HTTP).",
        widget=forms.TextInput(attrs={"size": 70, "spellcheck": "false"}),
    )
    idp_slo_url = forms.CharField(
        label="IdP SLO URL (optional)",
        required=False,
        max_length=1024,
        help_text="OneLogin: SLO Endpoint (HTTP). Signing out of Switchboard then signs out there.",
        widget=forms.TextInput(attrs={"size": 70, "spellcheck": "false"}),
    )
    idp_certificate = forms.CharField(
        label="Certificate",
        required=False,
        help_text="OneLogin: X.509 Certificate. PEM or the bare base64 text both work.",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 70, "spellcheck": "false"}),
    )
    idp_certificate_2 = forms.CharField(
        label="Second certificate (optional)",
        required=False,
        help_text="For certificate rollover: sign-ins signed by either certificate are accepted. "
        "Clear the old one once your identity provider has switched.",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70, "spellcheck": "false"}),
    )
    metadata_xml = forms.CharField(
        label="…or paste the IdP metadata XML",
        required=False,
        max_length=512 * 1024,
        help_text="Instead of the fields above: fills entity ID, URLs and certificates.",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70, "spellcheck": "false"}),
    )
    metadata_file = forms.FileField(
        label="…or upload the IdP metadata file",
        required=False,
    )
    enabled = forms.BooleanField(label="SSO enabled", required=False)
    enforce_sso = forms.BooleanField(
        label="Enforce SSO",
        required=False,
        help_text="Members can no longer sign in with a password, and their open password "
        "sessions end at once. Needs a successful Test sign-in (below) with these settings.",
    )
    allow_admin_password_login = forms.BooleanField(
        label="Break-glass password sign-in for company admins",
        required=False,
        help_text="With SSO enforced, company admins may still sign in with their password "
        "(each such sign-in is audited) — your way back in if the identity provider is down.",
    )
    allow_idp_initiated = forms.BooleanField(
        label="Allow IdP-initiated sign-in",
        required=False,
    )
    jit_provisioning = forms.BooleanField(
        label="Create users just in time",
        required=False,
        help_text="People your identity provider lets in, in your email domains, get an account "
        "on first sign-in if a license is free.",
    )
    jit_license_type = forms.ChoiceField(
        label="License for just-in-time users", choices=LicenseType.choices, required=False
    )
    sign_requests = forms.BooleanField(
        label="Sign requests",
        required=False,
        help_text="Our sign-in and sign-out requests carry an RSA-SHA256 signature, checked "
        "with the certificate in our SP metadata (Okta requires it for single logout).",
    )

    def clean(self) -> dict[str, Any]:
        """Every problem at once, in the service's words (it checks again when saving)."""
        cleaned = super().clean() or {}
        if cleaned.get("metadata_xml") or cleaned.get("metadata_file"):
            return cleaned  # the metadata brings the IdP fields; the service reads it
        checks = (
            ("idp_entity_id", services.clean_entity_id),
            ("idp_sso_url", partial(services.clean_idp_url, field="idp_sso_url", required=True)),
            ("idp_slo_url", partial(services.clean_idp_url, field="idp_slo_url", required=False)),
        )
        for name, check in checks:
            if name not in self.errors:
                self._check(name, check, cleaned.get(name, ""))
        present = []
        for name in ("idp_certificate", "idp_certificate_2"):
            text = (cleaned.get(name) or "").strip()
            if text and name not in self.errors:
                present.append(name)
                self._check(name, partial(normalize_certificate, field=name), text)
        if not present and "idp_certificate" not in self.errors:
            self.add_error(
                "idp_certificate",
                "Paste the identity provider's X.509 certificate (OneLogin: X.509 Certificate).",
            )
        if cleaned.get("enforce_sso") and not cleaned.get("enabled"):
            self.add_error(
                "enforce_sso", "Turn on SSO before enforcing it, or nobody could sign in."
            )
        return cleaned

    def _check(self, name: str, check: Any, value: str) -> None:
        try:
            check(value)
        except DomainError as error:
            if error.code == "private_key":
                # A pasted private key is not shown again, not even to whoever pasted it.
                self.data = {**self.data.dict(), name: ""}  # type: ignore[attr-defined]
            self.add_error(name, error.message)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        upload = data.pop("metadata_file", None)
        metadata = data.pop("metadata_xml", "") or ""
        if upload is not None:
            metadata = upload.read(512 * 1024 + 1)
        if metadata:
            # The metadata provides the IdP fields; the toggles still come from the form.
            for name in ("idp_entity_id", "idp_sso_url", "idp_slo_url"):
                data.pop(name, None)
            data.pop("idp_certificate", None)
            data.pop("idp_certificate_2", None)
            data["metadata_xml"] = metadata
        if not data.get("jit_license_type"):
            data.pop("jit_license_type", None)
        return data


class ThrottledPasswordChangeForm(AdminPasswordChangeForm):
    """Admin Settings' password change. The current password is the one /login/ takes, so a
    wrong one counts against the account and the client address as a wrong sign-in does, and
    while either is blocked it is not checked at all: a stolen session cannot guess it here.
    The new one is set by the service, which audits it, as every password set is."""

    def save(self, commit: bool = True) -> User:
        return account_services.set_user_password(
            user=self.user,
            password=self.cleaned_data["new_password1"],
            actor=self.user,
            source=Source.ADMIN,
        )

    def clean_old_password(self) -> str:
        email = self.user.email
        ip = current_client_ip.get()()
        wait = services.password_sign_in_blocked_for(email=email, client_ip=ip)
        if wait is None:
            try:
                old_password: str = super().clean_old_password()
            except ValidationError:
                services.record_refusal(
                    company=self.user.company,
                    actor=ClientActor(ip or "unknown"),
                    source=Source.ADMIN,
                    reason="bad_credentials",
                    detail={"email": email[:254], "method": "password_change"},
                )
                wait = services.record_password_failure(
                    email=email, company=self.user.company, client_ip=ip
                )
                if wait is None:
                    raise
            else:
                services.clear_password_failures(email=email)
                return old_password
        minutes = math.ceil(wait / 60)
        raise ValidationError(
            f"Too many wrong passwords. Try again in {minutes} minute{pluralize(minutes)}.",
            code="throttled",
        )
