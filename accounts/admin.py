from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts import audit_csv, domain_dns, domains, selectors, services
from accounts.admin_filters import (
    ActorFilter,
    DateRangeFilter,
    EventTypeFilter,
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
    VerificationMethod,
)
from accounts.moments import format_moment
from accounts.tenancy import CompanyScopedAdmin
from accounts.words import count


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
