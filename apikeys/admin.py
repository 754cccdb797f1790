"""Admin Settings › My Company › Authentication › API Keys.

The list, "Add a Key" (the full key shown once, on the page the POST redirects to: never in a URL
or a message, and never readable in the database — apikeys/one_time_secret.py), and Revoke with
a confirmation page. Keys are never edited or deleted: a key that should stop working is revoked,
and its history stays.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html

from accounts.admin_site import admin_site
from accounts.audit import Source
from accounts.errors import DomainError
from accounts.moments import FORMAT
from accounts.tenancy import CompanyScopedAdmin, is_company_admin
from apikeys import one_time_secret, services
from apikeys.models import APIKey, Scope

DETAIL_FIELDS = (
    "name",
    "key_prefix",
    "scope_list",
    "status_badge",
    "created",
    "last_used",
    "expiry",
    "revoked",
)


def format_moment(moment: datetime | None) -> str:
    # In the zone the console's request runs in: the company's (accounts.admin_site).
    return timezone.localtime(moment).strftime(FORMAT) if moment else ""


class ScopesWidget(forms.CheckboxSelectMultiple):
    """Checkboxes in a fieldset whose legend names them (WCAG 1.3.1)."""

    template_name = "admin/apikeys/apikey/scopes_widget.html"
    legend = "Scopes"

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["legend"] = self.legend
        return context


class APIKeyCreateForm(forms.ModelForm):
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Optional. The key stops working at 00:00 UTC on this day. "
        "Leave empty for a key that works until you revoke it.",
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        initial=[Scope.SCIM.value],
        widget=ScopesWidget,
        help_text="What the key may do. An identity provider such as OneLogin needs only "
        "“SCIM provisioning”.",
    )

    class Meta:
        model = APIKey
        fields = ("company", "name", "scopes")
        widgets = {"name": forms.TextInput(attrs={"placeholder": "OneLogin provisioning"})}

    def clean_expires_on(self) -> Any:
        expires_on = self.cleaned_data.get("expires_on")
        if expires_on is not None and expires_on <= timezone.now().astimezone(UTC).date():
            raise forms.ValidationError(
                "Choose a date after today: a key cannot expire in the past."
            )
        return expires_on


@admin.register(APIKey, site=admin_site)
class APIKeyAdmin(CompanyScopedAdmin):
    admin_section = "authentication"
    admin_description = "Bearer tokens for SCIM provisioning (OneLogin, Okta, Entra) and the API."
    change_list_template = "admin/apikeys/apikey/change_list.html"
    add_form_template = "admin/apikeys/apikey/add_form.html"
    list_display = (
        "name",
        "key_prefix",
        "scope_list",
        "created",
        "last_used",
        "expiry",
        "status_badge",
        "revoke_link",
    )
    list_display_links = None
    search_fields = ("name", "prefix")
    actions = None
    ordering = ("-created_at", "-id")

    # --- who may: company admins add, view and revoke; nobody edits or deletes ---

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        # Keys are managed from the list (added, revoked): the index says "Open", not "View".
        perms = super().get_model_perms(request)
        perms["change"] = perms["add"]
        return perms

    # --- the list ---

    def get_queryset(self, request: HttpRequest) -> QuerySet[APIKey]:
        return super().get_queryset(request).select_related("company", "created_by", "revoked_by")

    def get_list_display(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:
            return ("company", *self.list_display)
        return self.list_display

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "title": "API Keys"})

    @admin.display(description="Key", ordering="prefix")
    def key_prefix(self, obj: APIKey) -> str:
        return format_html('<code class="api-key-prefix">{}…</code>', obj.prefix)

    @admin.display(description="Scopes")
    def scope_list(self, obj: APIKey) -> str:
        return ", ".join(obj.scopes or [])

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: APIKey) -> str:
        by = obj.created_by.email if obj.created_by else "command line"
        return format_html('{}<div class="quiet">by {}</div>', format_moment(obj.created_at), by)

    @admin.display(description="Last used", ordering="last_used_at")
    def last_used(self, obj: APIKey) -> str:
        if obj.last_used_at is None:
            return format_html('<span class="quiet">{}</span>', "Never")
        return format_html(
            '{}<div class="quiet">from {}</div>',
            format_moment(obj.last_used_at),
            obj.last_used_ip or "unknown address",
        )

    @admin.display(description="Expires", ordering="expires_at")
    def expiry(self, obj: APIKey) -> str:
        if obj.expires_at is None:
            return format_html('<span class="quiet">{}</span>', "Never")
        return format_moment(obj.expires_at)

    @admin.display(description="Status")
    def status_badge(self, obj: APIKey) -> str:
        status = obj.status
        badge = format_html(
            '<span class="api-key-status api-key-status-{}">{}</span>', status.value, status.label
        )
        if obj.revoked_at is None:
            return badge
        return format_html('{}<div class="quiet">{}</div>', badge, self.revoked(obj))

    @admin.display(description="Revoked")
    def revoked(self, obj: APIKey) -> str:
        if obj.revoked_at is None:
            return ""
        by = obj.revoked_by.email if obj.revoked_by else "command line"
        return f"{format_moment(obj.revoked_at)} by {by}"

    @admin.display(description="Revoke", empty_value="")
    def revoke_link(self, obj: APIKey) -> str:
        if obj.revoked_at is not None:
            return ""
        # Named after its key: a list of links all read "Revoke" tells a screen reader nothing.
        return format_html(
            '<a class="button danger api-key-revoke" href="{}" aria-label="Revoke {} key">'
            "Revoke</a>",
            reverse("admin:apikeys_apikey_revoke", args=[obj.pk], current_app=admin_site.name),
            obj.name,
        )

    # --- a key's own page (read-only) and the add form ---

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return [(None, {"fields": DETAIL_FIELDS})]
        fields = ["name", "expires_on", "scopes"]
        if request.user.is_superuser:
            fields.insert(0, "company")
        return [(None, {"fields": fields})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return DETAIL_FIELDS if obj is not None else ()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = APIKeyCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        return super().add_view(request, form_url, {**(extra_context or {}), "title": "Add a Key"})

    def save_model(self, request: HttpRequest, obj: APIKey, form: Any, change: bool) -> None:
        if change:
            raise PermissionDenied  # keys are never edited
        data = form.cleaned_data
        expires_on = data.get("expires_on")
        api_key, raw_key = services.create_api_key(
            company=self.company_for(request, obj),
            name=data["name"],
            scopes=data["scopes"],
            expires_at=datetime.combine(expires_on, time.min, tzinfo=UTC) if expires_on else None,
            actor=request.user,  # type: ignore[arg-type]
            source=Source.ADMIN,
        )
        obj.pk, obj.prefix, obj.created_at = api_key.pk, api_key.prefix, api_key.created_at
        request._created_api_key = (api_key, raw_key)  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: APIKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Redirect to the page that shows the new key once (POST → redirect → GET)."""
        api_key, raw_key = request._created_api_key  # type: ignore[attr-defined]
        return one_time_secret.hand_over(
            request,
            HttpResponseRedirect(
                reverse(
                    "admin:apikeys_apikey_created",
                    args=[api_key.pk],
                    current_app=self.admin_site.name,
                )
            ),
            key_id=api_key.pk,
            secret=raw_key,
        )

    def created_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The one page that ever shows the full key, once; a reload says it was shown."""
        if not is_company_admin(request.user):
            raise PermissionDenied
        api_key: APIKey = self.get_object(request, object_id)  # another company's id: 404
        raw_key = one_time_secret.take(request, key_id=api_key.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Copy your new API key" if raw_key else "This key was already shown",
            "opts": self.opts,
            "admin_section": self.admin_section,
            "api_key": api_key,
            "raw_key": raw_key,
            "expires": format_moment(api_key.expires_at),
            "scim_base_url": f"{settings.PUBLIC_BASE_URL}/scim/v2/"
            if api_key.has_scope(Scope.SCIM)
            else "",
        }
        response = TemplateResponse(request, "admin/apikeys/apikey/created.html", context)
        add_never_cache_headers(response)
        one_time_secret.forget(request, response)
        return response

    # --- revoke ---

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/created/",
                self.admin_site.admin_view(self.created_view),
                name="apikeys_apikey_created",
            ),
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="apikeys_apikey_revoke",
            ),
            *super().get_urls(),
        ]

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not is_company_admin(request.user):
            raise PermissionDenied
        api_key: APIKey = self.get_object(request, object_id)  # another company's id: 404
        changelist = reverse("admin:apikeys_apikey_changelist", current_app=admin_site.name)
        if request.method == "POST":
            try:
                services.revoke_api_key(
                    api_key=api_key,
                    actor=request.user,  # type: ignore[arg-type]
                    source=Source.ADMIN,
                )
            except DomainError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"The key '{api_key.name}' ({api_key.prefix}…) is revoked: requests that "
                    "use it are refused from now on.",
                    level=messages.SUCCESS,
                )
            return HttpResponseRedirect(changelist)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Revoke the key “{api_key.name}”?",
            "opts": self.opts,
            "admin_section": self.admin_section,
            "api_key": api_key,
            "revoked_at": format_moment(api_key.revoked_at),
            "changelist_url": changelist,
        }
        return TemplateResponse(request, "admin/apikeys/apikey/revoke_confirmation.html", context)
