from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts import services
from accounts.admin_site import admin_site
from accounts.audit import Source
from accounts.errors import DomainError
from accounts.models import AuditEvent, Company, CompanyDomain, LicenseSeats, User, UserStatus
from accounts.tenancy import CompanyScopedAdmin, ScopedRelatedFieldListFilter
from offices import services as office_services


@admin.register(Company, site=admin_site)
class CompanyAdmin(CompanyScopedAdmin):
    admin_section = "my-company"
    admin_description = "Your company's name, plan and where it is used."
    list_display = ("name", "slug", "plan", "created_at")
    search_fields = ("name", "slug")
    fields = ("name", "slug", "plan")

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("plan",) if request.user.is_superuser else ()

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
    admin_description = "Email domains: they send your people to your sign-in."
    list_display = ("domain", "created_at")
    search_fields = ("domain",)
    fields = ("company", "domain")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A domain is added or removed, never edited in place.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: CompanyDomain, form: Any, change: bool) -> None:
        created = services.add_company_domain(
            company=self.company_for(request, obj),
            domain=obj.domain,
            actor=request.user,  # type: ignore[arg-type]
            source=Source.ADMIN,
        )
        obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: CompanyDomain) -> None:
        services.remove_company_domain(
            domain=obj,
            actor=request.user,  # type: ignore[arg-type]
            source=Source.ADMIN,
        )


@admin.register(LicenseSeats, site=admin_site)
class LicenseSeatsAdmin(CompanyScopedAdmin):
    admin_section = "my-company"
    admin_description = "Seats per license type: how many are in use, and by whom."
    list_display = ("license_type", "seats", "in_use", "holders")
    fields = ("license_type", "seats", "in_use")
    readonly_fields = ("license_type", "in_use")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LicenseSeats]:
        # Seats in use = active users holding the type (the rule offices.services counts by).
        holders = (
            User.objects.filter(
                company_id=OuterRef("company_id"),
                license_type=OuterRef("license_type"),
                status=UserStatus.ACTIVE,
            )
            .order_by()
            .values("company_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("company")
            .annotate(used=Coalesce(Subquery(holders, output_field=IntegerField()), Value(0)))
        )

    @admin.display(description="In use")
    def in_use(self, obj: LicenseSeats) -> str:
        return f"{getattr(obj, 'used', 0)} of {obj.seats}"

    @admin.display(description="Held by")
    def holders(self, obj: LicenseSeats) -> str:
        url = reverse("admin:accounts_user_changelist")
        return format_html(
            '<a href="{}?license_type__exact={}&amp;status__exact=active">{} user(s)</a>',
            url,
            obj.license_type,
            getattr(obj, "used", 0),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one row per license type exists from the company's creation

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


@admin.register(User, site=admin_site)
class UserAdmin(CompanyScopedAdmin):
    admin_section = "users"
    admin_description = "Everyone in the company: profile, role and status."
    list_display = (
        "email",
        "full_name",
        "role",
        "status",
        "license_type",
        "office",
        "phone_number_display",
        "managed_by",
    )
    list_filter = (
        "status",
        "role",
        "license_type",
        ("office", ScopedRelatedFieldListFilter),
        PhoneNumberFilter,
        "managed_by",
        "is_approver",
    )
    list_select_related = ("office", "phone_number")
    search_fields = ("email", "given_name", "family_name", "scim_user_name", "external_id")
    ordering = ("family_name", "given_name", "email")
    readonly_fields = ("status", "managed_by", "phone_number_display", "created_at", "updated_at")
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
        ("Identity provider", {"fields": ("scim_user_name", "external_id")}),
        ("History", {"fields": ("created_at", "updated_at")}),
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
                "office",
                "license_type",
                "password",
            ]
            if request.user.is_superuser:
                fields.insert(0, "company")
            return ((None, {"fields": fields}),)
        return super().get_fieldsets(request, obj)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = UserAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).select_related("company")

    @admin.display(description="Phone number", ordering="phone_number__number")
    def phone_number_display(self, obj: User) -> str:
        number = getattr(obj, "phone_number", None)
        if number is not None:
            return number.formatted
        if obj.status == UserStatus.ACTIVE and obj.license_type:
            return "Needs a number"
        return "—"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # users leave through suspension or the identity provider

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
        actor: User = request.user  # type: ignore[assignment]
        data = form.cleaned_data
        profile = {
            name: data[name]
            for name in (
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
            created = services.create_user(
                company=self.company_for(request, obj),
                email=data["email"],
                role=data.get("role") or "member",
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
        services.update_user(
            user=obj, email=data["email"], actor=actor, source=Source.ADMIN, **profile
        )
        self._save_office_and_license(obj, data, form.changed_data, actor)
        if "role" in data or "is_approver" in data:
            services.change_role(
                user=obj,
                role=data.get("role", obj.role),
                is_approver=data.get("is_approver"),
                actor=actor,
                source=Source.ADMIN,
            )


@admin.register(AuditEvent, site=admin_site)
class AuditEventAdmin(CompanyScopedAdmin):
    admin_section = "audit"
    admin_description = "Every change: who, what, when, from where."
    list_display = ("created_at", "action", "actor_label", "source", "target_label", "request_id")
    list_filter = ("action", "source", "actor_kind", ("created_at", admin.DateFieldListFilter))
    search_fields = ("action", "actor_label", "target_label", "target_id", "request_id")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return super().get_queryset(request).select_related("company", "actor_user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
