"""Admin Settings › My Company › Authentication › SAML SSO: one page per company, not a model
list. Company admins see and change only their own company's settings; platform operators pick
a company with ?company=<slug>."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.validators import slug_re
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.admin_site import admin_site
from accounts.audit import Source
from accounts.errors import DomainError
from accounts.models import Company, Plan
from accounts.tenancy import is_company_admin
from sso import services
from sso import views as sso_views
from sso.certificates import certificate_info
from sso.forms import SAMLSettingsForm, ThrottledPasswordChangeForm
from sso.models import SAMLConfig
from sso.saml import absolute, sp_acs_url, sp_entity_id

PAGE_TITLE = "SAML SSO"


def _company_for(request: HttpRequest) -> Company | None:
    user = request.user
    if getattr(user, "is_superuser", False):
        slug = request.GET.get("company")
        if not slug:
            return None
        # A slug is letters, digits and hyphens: anything else (a NUL) names no company.
        company = Company.objects.filter(slug=slug).first() if slug_re.match(slug) else None
        if company is None:
            raise Http404("No such company.")
        return company
    return user.company  # type: ignore[union-attr]


def saml_settings_view(request: HttpRequest) -> HttpResponse:
    if not is_company_admin(request.user):
        raise Http404("Not found.")
    company = _company_for(request)
    context: dict[str, Any] = {
        **admin_site.each_context(request),
        "title": PAGE_TITLE,
        "admin_section": "authentication",
        "company": company,
    }
    if company is None:
        context["companies"] = Company.objects.filter(plan=Plan.ENTERPRISE)
        return TemplateResponse(request, "sso/admin_saml_settings.html", context)
    config = SAMLConfig.objects.filter(company=company).first()
    test_outcome = sso_views.take_test_outcome(request, company)
    if test_outcome is not None:
        test_outcome["counted"] = services.record_test_sign_in(
            company=company,
            actor=request.user,  # type: ignore[arg-type]
            source=Source.ADMIN,
            outcome=test_outcome,
        )
        config = SAMLConfig.objects.filter(company=company).first()
    confirm_break_glass = False
    if request.method == "POST" and company.is_enterprise:
        form = SAMLSettingsForm(request.POST, request.FILES)
        if form.is_valid() and _turns_break_glass_off(config, form.cleaned_data, request.POST):
            confirm_break_glass = True
            form.add_error(
                "allow_admin_password_login",
                "With SSO enforced and break-glass off, nobody can sign in with a password, you "
                "included: if the identity provider fails, only an operator's manage.py "
                "configure_saml gets your company back in. Tick the box below to confirm.",
            )
        if form.is_valid():
            try:
                services.configure_saml(
                    company=company,
                    actor=request.user,  # type: ignore[arg-type]
                    source=Source.ADMIN,
                    require_tested=True,
                    **form.service_fields(),
                )
            except DomainError as error:
                if error.code == "private_key" and error.field in form.fields:
                    # A pasted private key is not shown again, not even to whoever pasted it.
                    form.data = {**request.POST.dict(), error.field: ""}
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, "SAML settings saved.")
                return HttpResponseRedirect(request.get_full_path())
    elif config is not None:
        form = SAMLSettingsForm(
            initial={
                name: getattr(config, name)
                for name in (*services.TEXT_FIELDS, *services.CERT_FIELDS, *services.FLAG_FIELDS)
            }
        )
    else:
        form = SAMLSettingsForm(initial={"allow_admin_password_login": True})
    context.update(
        form=form,
        config=config,
        test_outcome=test_outcome,
        confirm_break_glass=confirm_break_glass,
        test_sign_in_url=reverse("sso_test_sign_in") + f"?company={company.slug}",
        tested_current=bool(
            config and config.tested_fingerprint == services.settings_fingerprint(config)
        ),
        certificates=[certificate_info(pem) for pem in config.certificates] if config else [],
        acs_url=sp_acs_url(company.slug),
        entity_id=sp_entity_id(company.slug),
        metadata_url=sp_entity_id(company.slug),
        login_url=absolute(reverse("sso:login", args=[company.slug])),
    )
    return TemplateResponse(request, "sso/admin_saml_settings.html", context)


def _turns_break_glass_off(config: SAMLConfig | None, cleaned: dict[str, Any], data: Any) -> bool:
    """Break-glass going off while SSO is (or becomes) enforced, not yet confirmed."""
    return bool(
        cleaned.get("enforce_sso")
        and not cleaned.get("allow_admin_password_login")
        and (config is None or config.allow_admin_password_login or not config.enforce_sso)
        and data.get("confirm_break_glass_off") != "1"
    )


def saml_test_sign_in_view(request: HttpRequest) -> HttpResponse:
    """POST: a Test sign-in with the saved settings (nobody's sign-in changes)."""
    if not is_company_admin(request.user) or request.method != "POST":
        raise Http404("Not found.")
    company = _company_for(request)
    config = SAMLConfig.objects.filter(company=company).first() if company else None
    if company is None or config is None or not company.is_enterprise:
        raise Http404("Save your identity provider's details first.")
    return sso_views.start_test_sign_in(request, company, config)


admin_site.add_link(
    "authentication",
    PAGE_TITLE,
    "sso_settings",
    "Sign in with OneLogin, Okta or Entra: your identity provider's details and sign-in policy.",
    visible=lambda user: is_company_admin(user),
)

# The current password on Admin Settings' password change counts as a sign-in attempt.
admin_site.password_change_form = ThrottledPasswordChangeForm
