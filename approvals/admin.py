"""Admin Settings › Pending approvals: review queued SCIM changes, approve or reject them.

Company admins see the queue; approvers (company admins by default, or members given the flag)
decide. An approver who is no company admin can open these pages and nothing else of Admin
Settings (see `AdminSettingsSite.has_permission`).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from accounts.admin_filters import InputField, InputFilter
from accounts.admin_site import admin_site, is_company_approver
from accounts.audit import Source
from accounts.errors import DomainError
from accounts.models import User
from accounts.tenancy import CompanyScopedAdmin, is_company_admin
from accounts.words import count
from approvals import services
from approvals.diff import change_rows
from approvals.models import OPEN_STATUSES, ChangeStatus, PendingChange

# A bulk approval lists at most this many refusals (one message each), then counts the rest.
MAX_REFUSALS_SHOWN = 10


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("day", "Less than a day"), ("week", "1–7 days"), ("older", "Older than 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        day, week = now - timedelta(days=1), now - timedelta(days=7)
        if self.value() == "day":
            return queryset.filter(created_at__gt=day)
        if self.value() == "week":
            return queryset.filter(created_at__lte=day, created_at__gt=week)
        if self.value() == "older":
            return queryset.filter(created_at__lte=week)
        return queryset


class StatusFilter(admin.SimpleListFilter):
    """Pending by default: the queue is what an approver came for; "All" is one click away."""

    title = "status"
    parameter_name = "status__exact"  # the parameter Django's field filter used: links still work
    DEFAULT = ChangeStatus.PENDING.value

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*ChangeStatus.choices, ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        current = self.value() or self.DEFAULT
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None and request.method == "POST":
            # An action decides on the ticked changes, and says which are decided already.
            return queryset
        value = self.value() or self.DEFAULT
        if value == "all":
            return queryset
        if value not in ChangeStatus.values:
            return queryset.none()
        return queryset.filter(status=value)


class UserFilter(InputFilter):
    """By the user's email or name, typed: a list of every user would not scale."""

    title = "user"
    fields = (
        InputField("user", "User", placeholder="email or name"),
        InputField("user__id__exact", "User id", input_type="hidden"),
    )

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        typed = self.value("user")
        if typed:
            queryset = queryset.filter(
                Q(user_label__icontains=typed) | Q(user__email__icontains=typed)
            )
        user_id = self.value("user__id__exact")
        if user_id:
            queryset = (
                queryset.filter(user_id=int(user_id)) if user_id.isdigit() else queryset.none()
            )
        return queryset


class DecisionActionForm(helpers.ActionForm):
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "Comment (optional)", "size": 40}),
    )


def may_decide(user: Any) -> bool:
    return is_company_approver(user)


@admin.register(PendingChange, site=admin_site)
class PendingChangeAdmin(CompanyScopedAdmin):
    admin_section = "approvals"
    admin_description = "SCIM changes waiting for an approver: review each diff, approve or reject."
    list_display = (
        "number",
        "operation",
        "user_label",
        "age",
        "status_label",
        "requested_by_label",
        "reviewed_by",
    )
    # One link per row, named by whom the change is for (a list of links read as "#2", "#3"
    # tells a screen reader nothing).
    list_display_links = ("user_label",)
    list_filter = (StatusFilter, "operation", AgeFilter, UserFilter)
    search_fields = ("user_label",)
    list_select_related = ("reviewed_by",)
    action_form = DecisionActionForm
    actions = ("approve_selected", "reject_selected")
    list_per_page = 50

    # --- who may ---

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_company_admin(request.user) or may_decide(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_company_admin(request.user) or may_decide(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # changes arrive over SCIM only

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # decided with approve/reject, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the queue is a record

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return may_decide(request.user)

    def navigation_name(self, request: HttpRequest) -> str:
        count = services.pending_count(getattr(request.user, "company_id", None))
        return f"Pending approvals ({count})" if count else "Pending approvals"

    # --- the list ---

    @admin.display(description="Change", ordering="id")
    def number(self, obj: PendingChange) -> str:
        return f"Change #{obj.pk}"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return super().changelist_view(
            request, {"title": "Pending approvals", **(extra_context or {})}
        )

    @admin.display(description="Age", ordering="created_at")
    def age(self, obj: PendingChange) -> str:
        return timesince(obj.created_at).split(",")[0]

    @admin.display(description="Status", ordering="status")
    def status_label(self, obj: PendingChange) -> str:
        if obj.status == ChangeStatus.FAILED:
            return format_html('<span class="errornote-inline" title="{}">Failed</span>', obj.error)
        return obj.get_status_display()

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _warn_if_apply_deferred(self, request: HttpRequest, started: float) -> None:
        if services.apply_tasks_unsent_since(started):
            self.message_user(request, services.APPLY_DEFERRED_MESSAGE, level=messages.WARNING)

    @admin.action(description="Approve selected changes", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        approver: User = request.user  # type: ignore[assignment]  # admin views require a user
        if approver.company is None:  # an approver always has one (may_decide)
            raise PermissionDenied
        started = time.monotonic()
        try:
            approval = services.approve_changes(
                company=approver.company,
                change_ids=queryset.values_list("pk", flat=True),
                actor=approver,
                source=Source.ADMIN,
                comment=request.POST.get("comment", ""),
            )
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return
        refusals = [error.message for _pk, error in sorted(approval.refused.items())]
        for message in refusals[:MAX_REFUSALS_SHOWN]:
            self.message_user(request, message, level=messages.ERROR)
        if len(refusals) > MAX_REFUSALS_SHOWN:
            self.message_user(
                request,
                f"… and {count(len(refusals) - MAX_REFUSALS_SHOWN, 'more change')} "
                "not pending any more.",
                level=messages.ERROR,
            )
        if approval.approved:
            self.message_user(
                request,
                f"Approved {count(len(approval.approved), 'change')}.",
                level=messages.SUCCESS,
            )
        self._warn_if_apply_deferred(request, started)

    @admin.action(description="Reject selected changes", permissions=["approve"])
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        approver: User = request.user  # type: ignore[assignment]  # admin views require a user
        comment = request.POST.get("comment", "")
        if request.POST.get("confirm") != "yes":
            # Rejecting discards the changes (a rejected create removes the reserved user):
            # the approver confirms the list first.
            changes = list(queryset.order_by("pk"))
            context = {
                **self.admin_site.each_context(request),
                "title": f"Reject {count(len(changes), 'change')}?",
                "opts": self.model._meta,
                "admin_section": self.admin_section,
                "changes": changes,
                "comment": comment,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "changelist_url": reverse("admin:approvals_pendingchange_changelist"),
            }
            return TemplateResponse(
                request, "admin/approvals/pendingchange/reject_confirmation.html", context
            )
        started = time.monotonic()
        self.run_service_action(
            request,
            queryset.order_by("pk"),  # arrival order, as the queue decides
            lambda change: services.reject_change(
                change=change, actor=approver, source=Source.ADMIN, comment=comment
            ),
            "Rejected",
        )
        self._warn_if_apply_deferred(request, started)
        return None

    # --- the detail page: a readable diff and the decision ---

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        change: PendingChange = self.get_object(request, object_id)
        if not self.has_view_permission(request, change):
            raise PermissionDenied
        if request.method == "POST":
            return self._decide_one(request, change)
        waits_for = (
            services._earlier_open_change(change) if change.status in OPEN_STATUSES else None
        )
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "title": f"Change #{change.pk}: {change.get_operation_display().lower()} "
            f"{change.user_label}",
            "opts": self.model._meta,
            "change": change,
            "original": change,
            "admin_section": self.admin_section,
            "rows": change_rows(change),
            "request_body": _pretty(change.request_body),
            "waits_for": waits_for,
            "may_decide": may_decide(request.user),
            "changelist_url": reverse("admin:approvals_pendingchange_changelist"),
        }
        return TemplateResponse(request, "admin/approvals/pendingchange/detail.html", context)

    def _decide_one(self, request: HttpRequest, change: PendingChange) -> HttpResponse:
        decision = request.POST.get("decision")
        comment = request.POST.get("comment", "")
        actor: User = request.user  # type: ignore[assignment]  # admin views require a user
        started = time.monotonic()
        try:
            if decision == "approve":
                services.approve_change(
                    change=change, actor=actor, source=Source.ADMIN, comment=comment
                )
                done = "approved"
            elif decision == "reject":
                services.reject_change(
                    change=change, actor=actor, source=Source.ADMIN, comment=comment
                )
                done = "rejected"
            elif decision == "retry":
                services.retry_change(change=change, actor=actor, source=Source.ADMIN)
                done = "sent to apply again"
            else:
                raise DomainError("Choose approve, reject or retry.")
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(request.path)
        change.refresh_from_db()
        status = change.get_status_display().lower()
        level = messages.ERROR if change.status == ChangeStatus.FAILED else messages.SUCCESS
        detail = f": {change.error}" if change.status == ChangeStatus.FAILED else ""
        self.message_user(request, f"Change #{change.pk} {done} — now {status}{detail}", level)
        self._warn_if_apply_deferred(request, started)
        return HttpResponseRedirect(request.path)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return body


admin_site.allow_approvers("approvals_pendingchange_changelist", "approvals_pendingchange_change")
