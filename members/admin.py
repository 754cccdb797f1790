"""Admin Settings › Users: the people of the company. Every change goes through a service:
`members.services` for creating, changing, suspending and reactivating a member,
`offices.services` for office, license and number, `accounts.services` for the role."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts import selectors
from accounts import services as account_services
from accounts.admin_filters import GhostAccountFilter
from accounts.admin_site import admin_site
from accounts.audit import Source
from accounts.audit_display import describe_change, event_label
from accounts.errors import DomainError
from accounts.models import ManagedBy, User, UserStatus
from accounts.moments import format_moment
from accounts.tenancy import CompanyScopedAdmin, ScopedRelatedFieldListFilter, scope_to_company
from accounts.words import count
from members import services
from offices import services as office_services
from offices.models import Office

APPROVER_HELP = (
    "Approvers approve or reject queued provisioning changes under Pending approvals. Company "
    "admins are approvers unless this is unticked; a member who is an approver sees Pending "
    "approvals and nothing else of Admin Settings."
)
ROLE_HELP = (
    "Company admins open all of Admin Settings. Members use the phone system only; to let a "
    "member review provisioning changes, make them an approver."
)


# What "Add user" asks, in its order (an operator also picks the company first).
ADD_FIELDS = (
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


class UserAddForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave empty for users who sign in with SSO only.",
    )

    class Meta:
        model = User
        fields = ("company", *ADD_FIELDS)


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
        "role_display",
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
            fields = [*ADD_FIELDS, "password"]
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
            if obj is None:
                office.empty_label = "The main office"  # what create_member gives
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
                    services.suspend_member(user=user, actor=actor, source=Source.ADMIN)
                else:
                    services.reactivate_member(user=user, actor=actor, source=Source.ADMIN)
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

    @admin.display(description="Role", ordering="role")
    def role_display(self, obj: User) -> str:
        return obj.role_label  # says "Approver" too, which the role field alone does not

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
            services.suspend_member(user=user, actor=actor, source=Source.ADMIN)

        self.run_service_action(
            request, queryset.filter(status=UserStatus.ACTIVE), suspend, "Suspended"
        )

    @admin.action(description="Reactivate selected users (a license and a number again)")
    def reactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = _acting_user(request)

        def reactivate(user: User) -> None:
            services.reactivate_member(user=user, actor=actor, source=Source.ADMIN)

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
            created = services.create_member(
                company=self.company_for(request, obj),
                email=profile.pop("email"),
                role=data.get("role") or "member",
                # Unticked: the role's default (company admins approve, members do not).
                is_approver=True if data.get("is_approver") else None,
                password=data.get("password") or None,
                office=data.get("office"),
                license_type=data.get("license_type") or "",
                actor=actor,
                source=Source.ADMIN,
                **profile,
            )
            obj.pk = created.pk
            return
        if profile:
            services.update_member(user=obj, changes=profile, actor=actor, source=Source.ADMIN)
        self._save_office_and_license(obj, data, form.changed_data, actor)
        if "role" in data or "is_approver" in data:
            account_services.change_role(
                user=obj,
                role=data.get("role", obj.role),
                is_approver=data.get("is_approver"),
                actor=actor,
                source=Source.ADMIN,
            )


def _acting_user(request: HttpRequest) -> User:
    # Admin Settings only lets signed-in company admins (and operators) this far.
    return request.user  # type: ignore[return-value]


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
