from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts import audit_csv, domain_dns, domains, selectors, services
from accounts.admin_filters import (
    ActorFilter,
    DateRangeFilter,
    EventTypeFilter,
    GhostAccountFilter,
    SourceFilter,
    TargetFilter,
)
from accounts.admin_site import admin_site
from accounts.audit import Source
from accounts.audit_display import describe_change, event_label
from accounts.errors import DomainError
from accounts.models import (
    AuditEvent,
    Company,
    CompanyDomain,
    DnsCheck,
    LicenseSeats,
    ManagedBy,
    User,
    UserStatus,
    VerificationMethod,
)
from accounts.moments import format_moment
from accounts.tenancy import CompanyScopedAdmin, ScopedRelatedFieldListFilter, scope_to_company
from accounts.words import count
from offices import services as office_services
from offices.models import Office
from provisioning import services as provisioning_services


@admin.register(Company, site=admin_site)
class CompanyAdmin(CompanyScopedAdmin):
    admin_section = "my-company"
    admin_description = "Your company's name, plan and where it is used."
    list_display = ("name", "slug", "plan", "created_at")
    search_fields = ("name", "slug")
    fields = ("name", "slug", "plan")

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("plan",) if request.user.is_superuser else ()

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # A company admin has one company: its profile is a page, not a one-row list.
        company_id = getattr(request.user, "company_id", None)
        if not request.user.is_superuser and company_id is not None:
            return HttpResponseRedirect(reverse("admin:accounts_company_change", args=[company_id]))
        return super().changelist_view(request, {"title": "Companies", **(extra_context or {})})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra_context = {
            "title": "Company profile",
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return ("slug",) if obj else ()
        return ("slug", "plan")  # the plan is the operator's to change

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removing a company is an operator's job, never a click

    def save_model(self, request: HttpRequest, obj: Company, form: Any, change: bool) -> None:
        if change:
            services.update_company(
                company=obj,
                name=form.cleaned_data.get("name"),
                plan=form.cleaned_data.get("plan") if request.user.is_superuser else None,
                actor=request.user,  # type: ignore[arg-type]
                source=Source.ADMIN,
            )
        else:
            created = services.create_company(
                name=obj.name,
                slug=obj.slug,
                plan=obj.plan,
                actor=request.user,  # type: ignore[arg-type]
                source=Source.ADMIN,
            )
            obj.pk = created.pk


@admin.register(CompanyDomain, site=admin_site)
class CompanyDomainAdmin(CompanyScopedAdmin):
    admin_section = "my-company"
    admin_description = (
        "Email domains: once verified, they send your people to your sign-in and keep other "
        "organizations from creating accounts in them."
    )
    list_display = ("domain", "status_badge", "last_check_label", "verified_on")
    search_fields = ("domain",)
    fields = ("company", "domain")
    change_form_template = "admin/accounts/companydomain/change_form.html"
    change_list_template = "admin/accounts/companydomain/change_list.html"
    actions = ("check_now", "verify_as_operator")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.fields
        return (
            "company",
            "domain",
            "status_badge",
            "last_check_label",
            "verified_by",
            "verified_on",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A domain is added or removed, never edited in place.
        return obj is None and super().has_change_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("verify_as_operator", None)  # the override is the operator's
        return actions

    @admin.display(description="Status")
    def status_badge(self, obj: CompanyDomain) -> str:
        return format_html(
            '<span class="domain-status domain-status-{}">{}</span>',
            obj.status,
            obj.get_status_display(),
        )

    @admin.display(description="Last DNS check")
    def last_check_label(self, obj: CompanyDomain) -> str:
        if obj.last_checked_at is None:
            return "Not checked yet"
        when = format_moment(obj.last_checked_at, obj.company)
        return f"{obj.get_last_check_display()} ({when})"

    @admin.display(description="Verified on", ordering="verified_at")
    def verified_on(self, obj: CompanyDomain) -> str:
        if obj.verified_at is None:
            return "—"
        return format_moment(obj.verified_at, obj.company)

    @admin.display(description="Verified by")
    def verified_by(self, obj: CompanyDomain) -> str:
        return obj.get_verification_method_display() if obj.is_verified else "—"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        claim = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "claim": claim,
            "record_host": domain_dns.record_host(claim.domain),
            "record_value": domain_dns.record_value(claim.token),
            "grace_days": settings.DOMAIN_VERIFICATION_GRACE_DAYS,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/verify/",
                self.admin_site.admin_view(self.verify_now_view),
                name="accounts_companydomain_verify",
            ),
            path(
                "conflicts/",
                self.admin_site.admin_view(self.conflicts_view),
                name="accounts_companydomain_conflicts",
            ),
            *super().get_urls(),
        ]

    def verify_now_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The Verify now button: look the TXT record up and say what was found."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        claim = self.get_object(request, object_id)
        if request.method == "POST":
            self._check(request, claim)
        return HttpResponseRedirect(reverse("admin:accounts_companydomain_change", args=[claim.pk]))

    def _check(self, request: HttpRequest, claim: CompanyDomain) -> None:
        try:
            claim = domains.check_claim(
                claim=claim,
                actor=request.user,  # type: ignore[arg-type]
                source=Source.ADMIN,
            )
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return
        ok = claim.is_verified and claim.last_check == DnsCheck.FOUND
        self.message_user(
            request,
            domains.check_summary(claim),
            level=messages.SUCCESS if ok else messages.WARNING,
        )

    @admin.action(description="Verify now (look the TXT records up)")
    def check_now(self, request: HttpRequest, queryset: QuerySet[CompanyDomain]) -> None:
        for claim in queryset:
            self._check(request, claim)

    @admin.action(description="Mark verified (operator override, no DNS)")
    def verify_as_operator(self, request: HttpRequest, queryset: QuerySet[CompanyDomain]) -> None:
        if not request.user.is_superuser:
            raise PermissionDenied
        self.run_service_action(
            request,
            queryset,
            lambda claim: domains.verify_domain(
                claim=claim,
                method=VerificationMethod.OPERATOR,
                actor=request.user,
                source=Source.ADMIN,
            ),
            "Verified",
        )

    def conflicts_view(self, request: HttpRequest) -> HttpResponse:
        """Operators: accounts of other companies in a company's verified domain."""
        if not request.user.is_superuser:
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Accounts in another company's verified domain",
            "opts": self.model._meta,
            "admin_section": self.admin_section,
            "conflicts": domains.domain_conflicts(),
        }
        return TemplateResponse(request, "admin/accounts/companydomain/conflicts.html", context)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "show_conflicts": request.user.is_superuser}
        return super().changelist_view(request, extra_context)

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        # Straight to the TXT record to publish: the claim routes nothing until verified.
        self.message_user(
            request,
            f"Added {obj.domain}. Publish the TXT record below, then press Verify now.",
            level=messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:accounts_companydomain_change", args=[obj.pk]))

    def save_model(self, request: HttpRequest, obj: CompanyDomain, form: Any, change: bool) -> None:
        created = domains.add_company_domain(
            company=self.company_for(request, obj),
            domain=obj.domain,
            actor=request.user,  # type: ignore[arg-type]
            source=Source.ADMIN,
        )
        obj.pk = created.pk

    def deletion_follows(self, obj: CompanyDomain) -> list[str]:
        if not obj.is_verified:
            return []
        return [
            f"/login/ stops sending people with @{obj.domain} addresses to your identity "
            "provider, and another organization may then claim and verify the domain."
        ]

    def delete_model(self, request: HttpRequest, obj: CompanyDomain) -> None:
        domains.remove_company_domain(
            domain=obj,
            actor=request.user,  # type: ignore[arg-type]
            source=Source.ADMIN,
        )


@admin.register(LicenseSeats, site=admin_site)
class LicenseSeatsAdmin(CompanyScopedAdmin):
    """Seats bought, used and free per license type. Seats are bought, so they are the platform
    operator's to set (here, or `manage.py set_seats`); a company admin sees them read-only with
    whom to ask, and a crafted POST is refused like the form (403: no change permission)."""

    admin_section = "my-company"
    admin_description = "Seats bought, used and free per license type, and who holds them."
    change_list_template = "admin/accounts/licenseseats/change_list.html"
    list_display = ("license_type", "bought", "in_use", "free", "holders")
    list_display_links = ("license_type",)
    readonly_fields = ("company", "license_type", "bought", "in_use", "free", "more_seats")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LicenseSeats]:
        return super().get_queryset(request).select_related("company")

    def get_list_display(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:  # every company's rows: say whose
            return ("company", *self.list_display)
        return self.list_display

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return ("company", "license_type", "seats", "in_use", "free")
        return ("license_type", "bought", "in_use", "free", "more_seats")

    @admin.display(description="Seats bought", ordering="seats")
    def bought(self, obj: LicenseSeats) -> int:
        return obj.seats

    @admin.display(description="In use")
    def in_use(self, obj: LicenseSeats) -> str:
        usage = selectors.SeatUsage(
            obj.license_type, obj.get_license_type_display(), obj.used, obj.seats
        )
        return render_to_string("admin/switchboard/seat_usage.html", {"usages": [usage]})

    @admin.display(description="Free")
    def free(self, obj: LicenseSeats) -> int:
        return max(0, obj.seats - obj.used)

    @admin.display(description="More seats")
    def more_seats(self, obj: LicenseSeats) -> str:
        return services.SEATS_ARE_THE_OPERATORS

    def admin_summary(self, request: HttpRequest) -> str:
        """Seat usage bars under "Licenses" on the Admin Settings home."""
        company = getattr(request.user, "company", None)
        if company is None:
            return ""
        return render_to_string(
            "admin/switchboard/seat_usage.html", {"usages": selectors.seat_usage(company)}
        )

    @admin.display(description="Held by")
    def holders(self, obj: LicenseSeats) -> str:
        url = reverse("admin:accounts_user_changelist")
        return format_html(
            '<a href="{}?license_type__exact={}&amp;status__exact=active">{}</a>',
            url,
            obj.license_type,
            count(obj.used, "user"),
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "seats_help": services.SEATS_ARE_THE_OPERATORS}
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one row per license type exists from the company's creation

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser  # seats are bought: the operator sets them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: LicenseSeats, form: Any, change: bool) -> None:
        services.set_license_seats(
            company=obj.company,
            license_type=obj.license_type,
            seats=form.cleaned_data["seats"],
            actor=request.user,  # type: ignore[arg-type]
            source=Source.ADMIN,
        )


APPROVER_HELP = (
    "Approvers approve or reject queued provisioning changes under Pending approvals. Company "
    "admins are approvers unless this is unticked; a member who is an approver sees Pending "
    "approvals and nothing else of Admin Settings."
)
ROLE_HELP = (
    "Company admins open all of Admin Settings. Members use the phone system only; to let a "
    "member review provisioning changes, make them an approver."
)


class UserAddForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave empty for users who sign in with SSO only.",
    )

    class Meta:
        model = User
        fields = (
            "company",
            "email",
            "given_name",
            "family_name",
            "title",
            "department",
            "role",
            "is_approver",
            "office",
            "license_type",
        )


class PhoneNumberFilter(admin.SimpleListFilter):
    title = "phone number"
    parameter_name = "number"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (
            ("needed", "Needs a number"),
            ("yes", "Has a number"),
            ("no", "No number"),
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "needed":
            # Licensed, active and without a number: assignment found no free number.
            return queryset.filter(status=UserStatus.ACTIVE, phone_number__isnull=True).exclude(
                license_type=""
            )
        if self.value() in {"yes", "no"}:
            return queryset.filter(phone_number__isnull=self.value() == "no")
        return queryset


# What the identity provider sends over SCIM: read-only in the console for SCIM-managed users,
# so the console and OneLogin cannot drift apart (OneLogin's next update would undo an edit).
IDP_MANAGED_FIELDS = (
    "email",
    "given_name",
    "family_name",
    "title",
    "department",
    "scim_user_name",
    "external_id",
)
IDP_PROFILE_FIELDS = (
    "display_name",
    "division",
    "organization",
    "cost_center",
    "employee_number",
    "manager",
)
SCIM_MANAGED_NOTE = (
    "This user is managed by your identity provider (OneLogin): their email, names, title, "
    "department and identity-provider ids are read-only here. Change them in OneLogin; its next "
    "update brings them here. Office and license stay editable, but if your OneLogin app sends "
    "officeName or licenseType, its next update sets them again."
)
PHONE_SEARCH = re.compile(r"^[\d\s()+.-]{3,}$")


class MoveToOfficeForm(forms.Form):
    office: forms.ModelChoiceField[Office] = forms.ModelChoiceField(
        queryset=Office.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, offices: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = offices  # type: ignore[attr-defined]


@admin.register(User, site=admin_site)
class UserAdmin(CompanyScopedAdmin):
    admin_section = "users"
    admin_description = "Everyone in the company: search by name, email or number."
    list_display = (
        "name",
        "email",
        "status",
        "license",
        "office_display",
        "phone_number_display",
        "managed_by_display",
        "role",
    )
    list_display_links = ("name", "email")
    list_filter = (
        "status",
        "license_type",
        ("office", ScopedRelatedFieldListFilter),
        PhoneNumberFilter,
        "managed_by",
        GhostAccountFilter,
        "role",
    )
    list_select_related = ("office", "phone_number")
    list_per_page = 50
    search_fields = (
        "email",
        "given_name",
        "family_name",
        "display_name",
        "scim_user_name",
        "external_id",
        "phone_number__number",
    )
    search_help_text = "Name, email, SCIM userName or phone number."
    ordering = ("family_name", "given_name", "email")
    actions = ("suspend_users", "reactivate_users", "move_to_office", "assign_numbers")
    change_list_template = "admin/accounts/user/change_list.html"
    change_form_template = "admin/accounts/user/change_form.html"
    fieldsets = (
        (
            None,
            {"fields": ("company", "email", "given_name", "family_name", "title", "department")},
        ),
        ("Access", {"fields": ("role", "is_approver", "status", "managed_by")}),
        (
            "Office, license and number",
            {"fields": ("office", "license_type", "phone_number_display")},
        ),
        ("Identity provider", {"fields": ("scim_user_name", "external_id", *IDP_PROFILE_FIELDS)}),
        ("Provisioning history", {"fields": ("provisioning_history", "created_at", "updated_at")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            fields = [
                "email",
                "given_name",
                "family_name",
                "title",
                "department",
                "role",
                "is_approver",
                "office",
                "license_type",
                "password",
            ]
            if request.user.is_superuser:
                fields.insert(0, "company")
            return ((None, {"fields": fields}),)
        fieldsets = super().get_fieldsets(request, obj)
        if obj.managed_by == ManagedBy.SCIM:
            name, options = fieldsets[0]
            fieldsets = [(name, {**options, "description": SCIM_MANAGED_NOTE}), *fieldsets[1:]]
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        always = (
            "status",
            "managed_by",
            "phone_number_display",
            "provisioning_history",
            "created_at",
            "updated_at",
            *IDP_PROFILE_FIELDS,
        )
        if obj.managed_by == ManagedBy.SCIM:
            return (*always, *IDP_MANAGED_FIELDS)
        return always

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = UserAddForm
        form = super().get_form(request, obj, change, **kwargs)
        for name, label, help_text in (
            ("role", None, ROLE_HELP),
            ("is_approver", "Approver", APPROVER_HELP),
        ):
            if name in form.base_fields:
                field = form.base_fields[name]
                field.help_text = help_text
                field.label = label or field.label
        office = form.base_fields.get("office")
        if office is not None:
            # Offices are edited under Offices & Numbers, not from a user's page.
            office.widget.can_add_related = False
            office.widget.can_change_related = False
            office.widget.can_delete_related = False
            office.widget.can_view_related = False
        return form

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).select_related("company")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # A user's page is for that user: no "Save and add another" beside Save.
        extra_context = {"show_save_and_add_another": False, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="accounts_user_status",
            ),
            *super().get_urls(),
        ]

    def status_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Suspend or reactivate one user from their page: a confirmation, then the service."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        user: User = self.get_object(request, object_id)  # another company's user: 404
        actor = _acting_user(request)
        page = reverse("admin:accounts_user_change", args=[user.pk])
        suspending = user.status == UserStatus.ACTIVE
        if user.status == UserStatus.PENDING:
            self.message_user(
                request,
                f"{user} is waiting for approval: decide under Pending approvals.",
                level=messages.ERROR,
            )
            return HttpResponseRedirect(page)
        if request.method == "POST":
            try:
                if suspending:
                    if user.pk == actor.pk:
                        raise DomainError("You cannot suspend yourself; ask another company admin.")
                    provisioning_services.suspend_user(user=user, actor=actor, source=Source.ADMIN)
                else:
                    provisioning_services.reactivate_user(
                        user=user, actor=actor, source=Source.ADMIN
                    )
            except DomainError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            else:
                done = "suspended" if suspending else "reactivated"
                self.message_user(request, f"{user} is {done}.", level=messages.SUCCESS)
            return HttpResponseRedirect(page)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{'Suspend' if suspending else 'Reactivate'} {user}?",
            "opts": self.opts,
            "original": user,
            "admin_section": self.admin_section,
            "suspending": suspending,
            "target": user,
            "page_url": page,
            "scim_managed": user.managed_by == ManagedBy.SCIM,
        }
        return TemplateResponse(request, "admin/accounts/user/status_confirmation.html", context)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        """A user's history is the Audit log about them (every door), not Django's admin log."""
        user = self.get_object(request, object_id)  # another company's user: 404
        query = urlencode({"target_type": selectors.USER_TARGET_TYPE, "target_id": user.pk})
        return HttpResponseRedirect(f"{reverse('admin:accounts_auditevent_changelist')}?{query}")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if PHONE_SEARCH.match(term):
            # Numbers are stored as E.164: "(415) 555-0100" finds +14155550100.
            digits = re.sub(r"\D", "", term)
            if len(digits) >= 3:
                results |= queryset.filter(phone_number__number__contains=digits)
        return results, may_have_duplicates

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        ghost_days = request.GET.get(GhostAccountFilter.parameter_name)
        extra_context = {"title": "Users", **(extra_context or {})}
        if ghost_days is not None and ghost_days.isdigit():
            extra_context["ghost_days"] = int(ghost_days)
            extra_context["title"] = "Ghost accounts"
        return super().changelist_view(request, extra_context)

    # --- columns and read-only fields ---

    @admin.display(description="Phone number", ordering="phone_number__number")
    def phone_number_display(self, obj: User) -> str:
        number = getattr(obj, "phone_number", None)
        if number is not None:
            return number.formatted
        if obj.status == UserStatus.ACTIVE and obj.license_type:
            return "Needs a number"
        return "No number"

    @admin.display(description="License", ordering="license_type")
    def license(self, obj: User) -> str:
        return obj.get_license_type_display() if obj.license_type else "No license"

    @admin.display(description="Office", ordering="office__name")
    def office_display(self, obj: User) -> str:
        return obj.office.name if obj.office else "No office"

    @admin.display(description="Name", ordering="family_name")
    def name(self, obj: User) -> str:
        return obj.full_name or "—"

    @admin.display(description="Managed by", ordering="managed_by")
    def managed_by_display(self, obj: User) -> str:
        return "OneLogin (SCIM)" if obj.managed_by == ManagedBy.SCIM else "Manual"

    @admin.display(description="Recent changes")
    def provisioning_history(self, obj: User) -> str:
        events = selectors.user_history(obj)
        if not events:
            return "No changes recorded yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    format_moment(event.created_at, obj.company),
                    event_label(event),
                    Source(event.source).label if event.source in Source.values else event.source,
                    event.actor_label,
                    describe_change(event),
                )
                for event in events
            ),
        )
        log_url = reverse("admin:accounts_auditevent_changelist")
        query = urlencode({"target_type": selectors.USER_TARGET_TYPE, "target_id": obj.pk})
        return format_html(
            '<div class="history-table"><table><thead><tr><th>When</th><th>What</th>'
            "<th>From</th><th>Who</th><th>Change</th></tr></thead><tbody>{}</tbody></table></div>"
            '<p><a href="{}?{}">Everything about this user in the Audit log</a></p>',
            rows,
            log_url,
            query,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # users leave through suspension or the identity provider

    # --- actions: each one a service per user, refusals reported per user ---

    @admin.action(description="Suspend selected users (frees their license and number)")
    def suspend_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = _acting_user(request)

        def suspend(user: User) -> None:
            if user.pk == actor.pk:
                raise DomainError("You cannot suspend yourself; ask another company admin.")
            provisioning_services.suspend_user(user=user, actor=actor, source=Source.ADMIN)

        self.run_service_action(
            request, queryset.filter(status=UserStatus.ACTIVE), suspend, "Suspended"
        )

    @admin.action(description="Reactivate selected users (a license and a number again)")
    def reactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = _acting_user(request)

        def reactivate(user: User) -> None:
            provisioning_services.reactivate_user(user=user, actor=actor, source=Source.ADMIN)

        self.run_service_action(
            request, queryset.filter(status=UserStatus.SUSPENDED), reactivate, "Reactivated"
        )

    @admin.action(description="Give selected users who need one a phone number")
    def assign_numbers(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = _acting_user(request)
        given, without = 0, []
        for user in queryset.filter(status=UserStatus.ACTIVE, phone_number__isnull=True).exclude(
            license_type=""
        ):
            try:
                number = office_services.assign_number(user=user, actor=actor, source=Source.ADMIN)
            except DomainError as error:
                self.message_user(request, f"{user}: {error.message}", level=messages.ERROR)
                continue
            if number is None:
                without.append(str(user))
            else:
                given += 1
        if given:
            self.message_user(
                request, f"Gave {count(given, 'user')} a number.", level=messages.SUCCESS
            )
        if without:
            self.message_user(
                request,
                f"No free number in the office or the company reserve for: {', '.join(without)}. "
                "Add numbers under Offices & Numbers › Phone numbers.",
                level=messages.WARNING,
            )
        if not given and not without:
            self.message_user(request, "None of the selected users needs a number.")

    @admin.action(description="Move selected users to another office…")
    def move_to_office(self, request: HttpRequest, queryset: QuerySet[User]) -> Any:
        offices = scope_to_company(Office.objects.all(), request.user)
        if request.user.is_superuser:
            # An operator's selection may span companies; offer only the selection's own.
            company_ids = set(queryset.values_list("company_id", flat=True))
            offices = (
                offices.filter(company_id__in=company_ids)
                if len(company_ids) == 1
                else offices.none()
            )
        form = MoveToOfficeForm(request.POST if "apply" in request.POST else None, offices=offices)
        if form.is_valid():
            office = form.cleaned_data["office"]
            actor = _acting_user(request)

            def move(user: User) -> None:
                office_services.move_user_to_office(
                    user=user, office=office, actor=actor, source=Source.ADMIN
                )

            self.run_service_action(request, queryset, move, f"Moved to {office}:")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Move users to another office",
            "opts": self.model._meta,
            "admin_section": self.admin_section,
            "users": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/user/move_to_office.html", context)

    # --- saving through the services ---

    def _save_office_and_license(
        self, user: User, data: dict[str, Any], changed: list[str], actor: User
    ) -> None:
        """Office, license and (for a newly licensed user) a number, through offices.services."""
        if "office" in changed:
            if data.get("office") is None:
                raise DomainError(
                    "A user cannot be left without an office: choose another office.",
                    field="office",
                )
            office_services.move_user_to_office(
                user=user, office=data["office"], actor=actor, source=Source.ADMIN
            )
        if "license_type" in changed:
            if data.get("license_type"):
                office_services.assign_license(
                    user=user, license_type=data["license_type"], actor=actor, source=Source.ADMIN
                )
                office_services.assign_number(user=user, actor=actor, source=Source.ADMIN)
            else:
                office_services.release_license(user=user, actor=actor, source=Source.ADMIN)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        actor = _acting_user(request)
        data = form.cleaned_data
        # Only fields the form holds: a SCIM-managed user's identity fields are read-only.
        profile = {
            name: data[name]
            for name in (
                "email",
                "given_name",
                "family_name",
                "title",
                "department",
                "scim_user_name",
                "external_id",
            )
            if name in data
        }
        if not change:
            email = profile.pop("email")
            created = services.create_user(
                company=self.company_for(request, obj),
                email=email,
                role=data.get("role") or "member",
                # Unticked: the role's default (company admins approve, members do not).
                is_approver=True if data.get("is_approver") else None,
                password=data.get("password") or None,
                actor=actor,
                source=Source.ADMIN,
                **profile,
            )
            obj.pk = created.pk
            self._save_office_and_license(
                created,
                data,
                [name for name in ("office", "license_type") if data.get(name)],
                actor,
            )
            return
        if profile:
            services.update_user(user=obj, actor=actor, source=Source.ADMIN, **profile)
        self._save_office_and_license(obj, data, form.changed_data, actor)
        if "role" in data or "is_approver" in data:
            services.change_role(
                user=obj,
                role=data.get("role", obj.role),
                is_approver=data.get("is_approver"),
                actor=actor,
                source=Source.ADMIN,
            )


def _acting_user(request: HttpRequest) -> User:
    # Admin Settings only lets signed-in company admins (and operators) this far.
    return request.user  # type: ignore[return-value]


@admin.register(AuditEvent, site=admin_site)
class AuditEventAdmin(CompanyScopedAdmin):
    """Read-only for everyone, operators included: the log is evidence."""

    admin_section = "audit"
    admin_description = "Every change: who, what, when, from where. Filter it and export CSV."
    list_display = ("when", "event", "who", "source_display", "about", "change")
    empty_value_display = ""
    list_filter = (DateRangeFilter, ActorFilter, TargetFilter, EventTypeFilter, SourceFilter)
    search_fields = ("action", "actor_label", "target_label", "target_id", "request_id")
    search_help_text = "Action, who, what it changed, or a request id."
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False  # one COUNT(*) less per page on a long log
    change_list_template = "admin/accounts/auditevent/change_list.html"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return super().get_queryset(request).select_related("company", "actor_user")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_csv_view),
                name="accounts_auditevent_export",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return super().changelist_view(request, {"title": "Audit log", **(extra_context or {})})

    @admin.display(description="When", ordering="created_at")
    def when(self, obj: AuditEvent) -> str:
        return format_moment(obj.created_at, obj.company)

    @admin.display(description="What happened", ordering="action")
    def event(self, obj: AuditEvent) -> str:
        return event_label(obj)

    @admin.display(description="Who", ordering="actor_label")
    def who(self, obj: AuditEvent) -> str:
        return obj.actor_label

    @admin.display(description="From", ordering="source")
    def source_display(self, obj: AuditEvent) -> str:
        return Source(obj.source).label if obj.source in Source.values else obj.source

    @admin.display(description="About", ordering="target_label")
    def about(self, obj: AuditEvent) -> str:
        return obj.target_label

    @admin.display(description="Change")
    def change(self, obj: AuditEvent) -> str:
        return describe_change(obj)

    def export_csv_view(self, request: HttpRequest) -> HttpResponseBase:
        """The filtered list (same filters, search and scope as the page) as CSV, streamed."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(f"{reverse('admin:accounts_auditevent_changelist')}?e=1")
        events = (
            changelist.get_queryset(request).select_related(None).order_by("-created_at", "-id")
        )
        response = StreamingHttpResponse(
            audit_csv.rows(events.iterator(chunk_size=2000)), content_type="text/csv"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
        return response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin_site.add_link(
    "users",
    "Ghost accounts",
    "admin:accounts_user_changelist",
    "Active users OneLogin does not manage, or has not changed in 30 days: review and suspend.",
    query=f"{GhostAccountFilter.parameter_name}={selectors.GHOST_DAYS_DEFAULT}",
)
admin_site.add_link(
    "users",
    "Users who need a number",
    "admin:accounts_user_changelist",
    "Licensed users no number was free for: add numbers, then give them one.",
    query=f"{PhoneNumberFilter.parameter_name}=needed",
)
