"""Admin Settings: the Django admin site, its index grouped under headings a company admin knows.

Each ModelAdmin names its `admin_section`; pages that are not model lists (API keys, SAML SSO,
SCIM provisioning) join a section with `admin_site.add_link()`. Sections nest: Authentication
lives under My Company, so breadcrumbs read `Admin Settings › My Company › Authentication › …`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial, wraps
from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.http.response import HttpResponseRedirectBase
from django.template.response import SimpleTemplateResponse, TemplateResponse
from django.urls import URLPattern, URLResolver, include, path, re_path, reverse
from django.utils import timezone

from accounts.moments import company_zone


@dataclass
class Section:
    slug: str
    title: str
    parent: str | None = None
    description: str = ""


def _is_company_admin(user: Any) -> bool:
    return bool(user.is_superuser or (getattr(user, "company_id", None) and user.is_company_admin))


@dataclass
class Link:
    section: str
    title: str
    url_name: str
    description: str = ""
    # Who sees the link; defaults to company admins (and platform operators).
    visible: Any = None
    # Appended to the URL, e.g. "ghost=30" for a filtered list.
    query: str = ""


SECTIONS: list[Section] = [
    Section("my-company", "My Company", description="Profile, email domains and licenses."),
    Section(
        "authentication",
        "Authentication",
        parent="my-company",
        description="API keys, SAML single sign-on and SCIM provisioning.",
    ),
    Section("offices", "Offices & Numbers", description="Offices, area codes and phone numbers."),
    Section("users", "Users", description="Everyone in the company."),
    Section("approvals", "Pending approvals", description="Provisioning changes to review."),
    Section("audit", "Audit log", description="Every change, who made it and when."),
    Section("platform", "Platform", description="Operators only: every company."),
]
SECTION_BY_SLUG = {section.slug: section for section in SECTIONS}


# Pages under the section they belong to: /admin/my-company/authentication/api-keys/ rather than
# Django's /admin/apikeys/apikey/. The old addresses answer 308 (method and body kept).
AUTHENTICATION_PATH = "my-company/authentication/"
MOVED_MODEL_PAGES = {"apikeys/apikey/": f"{AUTHENTICATION_PATH}api-keys/"}


class HttpResponsePermanentRedirectKeepingMethod(HttpResponseRedirectBase):
    status_code = 308


def moved_to(old: str, new: str) -> Any:
    """A view answering an old address with a 308 to the same page at its new one."""

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return HttpResponsePermanentRedirectKeepingMethod(
            request.get_full_path().replace(old, new, 1)
        )

    return view


def is_company_approver(user: Any) -> bool:
    """An active approver of a company (who may be no company admin)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and getattr(user, "company_id", None)
        and user.is_approver
    )


class AdminSettingsSite(admin.AdminSite):
    site_header = "Switchboard · Admin Settings"
    site_title = "Admin Settings"
    index_title = "Admin Settings"
    index_template = "admin/switchboard/index.html"
    # Breadcrumbs and the home page carry navigation; the sidebar would take a quarter of a
    # laptop screen from the lists admins came for.
    enable_nav_sidebar = False
    # The password change page's form; sign-in (sso/admin.py) sets its throttled one.
    password_change_form: type[AdminPasswordChangeForm] | None = None

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._links: list[Link] = []
        # The only pages an approver who is not a company admin may open (fails closed: a page
        # added later is for company admins until it is listed here).
        self.approver_url_names: set[str] = {
            "index",
            "logout",
            "password_change",
            "password_change_done",
            "jsi18n",
            "section",
        }

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        """Django's wrapper, except that a signed-in person without access gets a 403 page.

        Django sends everyone without access to the sign-in page, and ours sends a signed-in
        person straight back: a loop. Only the signed-out are sent to sign in.
        """
        wrapped = super().admin_view(view, cacheable)

        @wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.user.is_authenticated and not self.has_permission(request):
                return self.no_access(request)
            # Moments read in the company's time zone, on every page of the console: the page
            # is rendered here, inside the zone, not later by the handler.
            with timezone.override(company_zone(getattr(request.user, "company", None))):
                response = wrapped(request, *args, **kwargs)
                if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                    response.render()
                return response

        return inner

    def no_access(self, request: HttpRequest) -> HttpResponse:
        """A 403 in the console's look that says where this person can go instead."""
        user = request.user
        if is_company_approver(user):
            elsewhere = (
                reverse("admin:approvals_pendingchange_changelist", current_app=self.name),
                "Pending approvals",
                "As an approver you can review queued provisioning changes.",
            )
        else:
            elsewhere = ("/app/", "your home page", "Your account is not a company admin.")
        context = {
            **self.each_context(request),
            "title": "You don’t have access to this page",
            "elsewhere_url": elsewhere[0],
            "elsewhere_title": elsewhere[1],
            "elsewhere_reason": elsewhere[2],
            # A member has no Admin Settings at all: the page offers no console links.
            "has_permission": is_company_approver(user),
        }
        return TemplateResponse(request, "admin/switchboard/no_access.html", context, status=403)

    def allow_approvers(self, *url_names: str) -> None:
        self.approver_url_names.update(url_names)

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if user.is_active and user.is_staff:
            return True
        if not is_company_approver(user):
            return False
        match = request.resolver_match
        return match is not None and match.url_name in self.approver_url_names

    def add_link(
        self,
        section: str,
        title: str,
        url_name: str,
        description: str = "",
        visible: Any = None,
        query: str = "",
    ) -> None:
        if section not in SECTION_BY_SLUG:
            raise ValueError(f"Unknown Admin Settings section {section!r}")
        self._links.append(Link(section, title, url_name, description, visible, query))

    def password_change(  # type: ignore[override]  # the stubs say TemplateResponse: a redirect on success
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseBase:
        """Django's page, with the form sign-in sets (`password_change_form`: the current password
        throttled as /login/'s is)."""
        from django.contrib.auth.views import PasswordChangeView

        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=self.password_change_form or AdminPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
            template_name=self.password_change_template or PasswordChangeView.template_name,
        )(request)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        urls: list[URLResolver | URLPattern] = [
            path(
                "section/<slug:slug>/",
                self.admin_view(self.section_view),
                name="section",
            ),
        ]
        for url in super().get_urls():
            old = str(url.pattern)
            new = MOVED_MODEL_PAGES.get(old)
            if new is None or not isinstance(url, URLResolver):
                urls.append(url)
                continue
            urls.append(path(new, include(url.url_patterns)))
            urls.append(re_path(rf"^{re.escape(old)}", moved_to(f"/{old}", f"/{new}")))
        return urls

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        """Sections instead of Django apps, for the index, the sidebar and section pages.

        Each entry has the shape Django's templates expect of an app ("name", "app_label",
        "app_url", "models"), plus "section" and "description" for our own templates.
        """
        if app_label is not None:  # Django's per-app index (/admin/<app_label>/)
            return super().get_app_list(request, app_label)
        entries: dict[str, list[dict[str, Any]]] = {section.slug: [] for section in SECTIONS}
        for app in super().get_app_list(request):
            for model in app["models"]:
                model_admin = self._registry[model["model"]]
                model["description"] = getattr(model_admin, "admin_description", "")
                if hasattr(model_admin, "navigation_name"):  # e.g. a count of waiting items
                    model["name"] = model_admin.navigation_name(request)
                if hasattr(model_admin, "admin_summary"):  # e.g. seat usage bars
                    # Lazy: the template calls it, so the sidebar on every page never does.
                    model["summary"] = partial(model_admin.admin_summary, request)
                entries[getattr(model_admin, "admin_section", "platform")].append(model)
        for link in self._links:
            visible = link.visible or _is_company_admin
            if not visible(request.user):
                continue
            entries[link.section].append(
                {
                    "name": link.title,
                    "object_name": link.url_name,
                    "admin_url": reverse(link.url_name, current_app=self.name)
                    + (f"?{link.query}" if link.query else ""),
                    "add_url": None,
                    "description": link.description,
                    "view_only": False,
                    "perms": {"change": True, "view": True},
                }
            )
        shown = {section.slug for section in SECTIONS if entries[section.slug]}
        return [
            {
                "name": section.title,
                "app_label": section.slug,
                "app_url": reverse("admin:section", args=[section.slug], current_app=self.name),
                "has_module_perms": True,
                "models": entries[section.slug],
                "section": section,
                "description": section.description,
                # Shown inside its parent's box (Authentication in My Company) when both are.
                "inside_parent": section.parent in shown,
            }
            for section in SECTIONS
            if entries[section.slug]
        ]

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["sections"] = SECTION_BY_SLUG
        return context

    def section_view(self, request: HttpRequest, slug: str) -> HttpResponse:
        section = SECTION_BY_SLUG.get(slug)
        if section is None:
            raise Http404("No such section.")
        shown = [
            app
            for app in self.get_app_list(request)
            if slug in (app["section"].slug, app["section"].parent)
        ]
        if not shown:
            raise Http404("No such section.")
        labels = {app["app_label"] for app in shown}
        for app in shown:  # a section's own page shows it, whether or not its parent is there
            app["inside_parent"] = app["section"].parent in labels
        context = {
            **self.each_context(request),
            "title": section.title,
            "section": section,
            "admin_section": slug,
            "app_list": shown,
        }
        return TemplateResponse(request, "admin/switchboard/section.html", context)


admin_site = AdminSettingsSite()
