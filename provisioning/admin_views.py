"""Admin Settings › My Company › Authentication › SCIM Provisioning: the SCIM door's page.

The SCIM base URL OneLogin needs, how provisioning is going (provisioning/activity.py), and the
company's approval policy (three toggles, audited by approvals.services).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.admin_site import AUTHENTICATION_PATH, admin_site
from accounts.audit import Source
from accounts.errors import DomainError
from accounts.tenancy import is_company_admin
from approvals import services
from provisioning.activity import provisioning_status


class PolicyForm(forms.Form):
    require_create = forms.BooleanField(
        required=False,
        label="Require approval to create users",
        help_text="New users are reserved (pending, no license) until an approver approves.",
    )
    require_update = forms.BooleanField(
        required=False,
        label="Require approval to update users",
        help_text="Profile, license, office and suspension changes wait for an approver.",
    )
    require_delete = forms.BooleanField(
        required=False,
        label="Require approval to delete users",
        help_text="The user keeps working until an approver approves the deletion.",
    )
    pending_change_ttl_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        label="Expire undecided changes after (days)",
        help_text="An expired create removes the reserved user.",
    )


def scim_base_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/scim/v2/"


def scim_provisioning_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not is_company_admin(user):
        raise Http404("No such page.")
    if user.company is None:
        # Platform operators belong to no company: they use `manage.py provisioning_policy`.
        raise Http404("Open this page as a company admin, or use manage.py provisioning_policy.")
    company = user.company
    policy = services.get_policy(company)
    initial = {
        "require_create": policy.require_create,
        "require_update": policy.require_update,
        "require_delete": policy.require_delete,
        "pending_change_ttl_days": policy.pending_change_ttl_days,
    }
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_policy(
                company=company,
                actor=user,
                source=Source.ADMIN,
                **form.cleaned_data,
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Provisioning policy saved.")
            return HttpResponseRedirect(reverse("scim_provisioning"))
    context = {
        **admin_site.each_context(request),
        "title": "SCIM Provisioning",
        "form": form,
        "company": company,
        "scim_base_url": scim_base_url(),
        "pending": services.pending_count(company.pk),
        "enterprise": company.is_enterprise,
        "status": provisioning_status(company),  # the panel: provisioning/activity.py
    }
    return TemplateResponse(request, "admin/approvals/scim_provisioning.html", context)


urlpatterns = [
    path(
        f"admin/{AUTHENTICATION_PATH}scim-provisioning/",
        admin_site.admin_view(scim_provisioning_view),
        name="scim_provisioning",
    ),
]

admin_site.add_link(
    "authentication",
    "SCIM Provisioning",
    "scim_provisioning",
    "The SCIM base URL for OneLogin, and which changes wait for an approver.",
)
