"""Tenancy that fails closed: every query user input can reach is scoped to the caller's company.

`scope_to_company()` is the one scoping rule; `CompanyScopedAdmin` applies it to every admin page
(lists, change and delete URLs, foreign-key choices, autocomplete, inlines) and saves through the
services. A platform operator (superuser) sees every company; anyone else without a company sees
nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as confirm_delete_selected
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts.errors import DomainError
from accounts.models import Company, User
from accounts.words import count


def company_field_of(model: type[models.Model]) -> str | None:
    """The lookup from a model to its company: '' for Company itself, None if not tenant-owned."""
    if model is Company:
        return ""
    path = getattr(model, "company_path", None)
    if path is not None:
        return str(path)
    names = {field.name for field in model._meta.get_fields()}
    return "company" if "company" in names else None


def scope_to_company(queryset: models.QuerySet[Any], user: Any) -> models.QuerySet[Any]:
    """Rows of `user`'s company only; all rows for platform operators; none for anyone else."""
    if getattr(user, "is_superuser", False):
        return queryset
    company_id = getattr(user, "company_id", None)
    path = company_field_of(queryset.model)
    if company_id is None or path is None:
        return queryset.none()
    if path == "":
        return queryset.filter(pk=company_id)
    return queryset.filter(**{path: company_id})


def is_company_admin(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or (user.company_id and user.is_company_admin))
    )


def holds_nul(value: Any) -> bool:
    """PostgreSQL text cannot hold a NUL character: no stored value has one, and a query with
    one is refused by the database (a 500 if it got that far)."""
    return "\x00" in str(value)


class PostedChoicesMixin:
    """Django's autocomplete widget looks the posted value up as it came to show it again on an
    invalid form: an id that is no id ("abc") was a 500 instead of "Select a valid choice"."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        remote = self.field.remote_field  # type: ignore[attr-defined]
        field_name = getattr(remote, "field_name", None)  # a many-to-many targets the pk
        target = remote.model._meta.get_field(field_name) if field_name else remote.model._meta.pk
        readable = []
        for item in value:
            try:
                target.to_python(item)
            except ValidationError:
                continue  # no row holds it: shown as no choice, the form says why
            if not holds_nul(item):
                readable.append(item)
        return super().optgroups(name, readable, attr)  # type: ignore[misc]


class ScopedAutocompleteSelect(PostedChoicesMixin, AutocompleteSelect):
    pass


class ScopedAutocompleteSelectMultiple(PostedChoicesMixin, AutocompleteSelectMultiple):
    pass


class TenantFormMixin:
    """Foreign-key and many-to-many choices limited to the admin's company."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = ScopedAutocompleteSelect(
                db_field,
                self.admin_site,  # type: ignore[attr-defined]
                using=kwargs.get("using"),
            )
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scope_to_company(formfield.queryset, request.user)
        return formfield

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = ScopedAutocompleteSelectMultiple(
                db_field,
                self.admin_site,  # type: ignore[attr-defined]
                using=kwargs.get("using"),
            )
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scope_to_company(formfield.queryset, request.user)
        return formfield


class ScopedChangeList(ChangeList):
    """A list that filters only through the filters its page offers.

    Django applies any other query-string lookup on the model's own fields as it stands:
    `?password__startswith=pbkdf2_sha256$…` on Users reads another admin's password hash a
    character at a time, `?secret_hash__startswith=` an API key's, and `?email__regex=[` or
    `?created_at__year=99999999999` reach the database and answer 500. Such a lookup is refused
    (400); a date-hierarchy value no date can hold is the list's "filters are wrong" notice.
    """

    def offered_lookups(self) -> set[str]:
        """Lookups Django leaves to the query itself that the page's filters stand for: an
        exact value or emptiness of a field it filters by (`?source__exact=scim`), and the
        date hierarchy's bounds (Django turns `created_at__year` into them)."""
        fields = [
            item if isinstance(item, str) else item[0]
            for item in self.list_filter
            if isinstance(item, (str, tuple, list))
        ]
        offered = {f"{field}{suffix}" for field in fields for suffix in ("", "__exact", "__isnull")}
        if self.date_hierarchy:
            offered |= {f"{self.date_hierarchy}__gte", f"{self.date_hierarchy}__lt"}
        return offered

    def get_filters(self, request: HttpRequest) -> Any:
        try:
            filters = super().get_filters(request)
        except OverflowError as error:  # a year or month too large for a date
            raise IncorrectLookupParameters(error) from error
        remaining = set(filters[2]) - self.offered_lookups()
        if remaining:
            raise DisallowedModelAdminLookup(f"Filtering by {', '.join(sorted(remaining))}")
        return filters


class CompanyListFilter(admin.RelatedFieldListFilter):
    """The operator's company filter. Rows without a company (platform events) get a named
    choice: the list's blank empty-value would make a link with no text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = SafeString("No company (platform)")


class CompanyScopedAdmin(TenantFormMixin, admin.ModelAdmin):
    """Base of every tenant model's admin.

    Subclasses name their Admin Settings section and write through services by overriding
    `save_model`/`delete_model`; a `DomainError` raised there becomes a form error (or, from an
    action, an error message) and nothing is saved.
    """

    admin_section = "my-company"
    change_list_template = "admin/switchboard/change_list.html"
    change_form_template = "admin/switchboard/change_form.html"
    delete_confirmation_template = "admin/switchboard/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/switchboard/delete_selected_confirmation.html"

    # --- what a deletion needs and does, in words (delete pages, single and bulk) ---

    def deletion_blockers(self, obj: Any) -> list[str]:
        """Why `obj` cannot be deleted now; the service refuses for the same reasons."""
        return []

    def deletion_follows(self, obj: Any) -> list[str]:
        """What else deleting `obj` changes (a freed license, a number back in the pool)."""
        return []

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The services decide what a deletion takes with it, not Django's cascade collector:
        # the page lists each object with what follows, and what blocks it in words.
        objs = list(objs)
        deleted = [
            str(obj) if not (follows := self.deletion_follows(obj)) else [str(obj), follows]
            for obj in objs
        ]
        flat: list[Any] = []
        for entry in deleted:
            flat.extend([entry[0], entry[1]] if isinstance(entry, list) else [entry])
        blockers = [reason for obj in objs for reason in self.deletion_blockers(obj)]
        return flat, {str(self.opts.verbose_name_plural): len(objs)}, set(), blockers

    def get_actions(self, request: HttpRequest) -> Any:
        actions: Any = super().get_actions(request)
        if actions.get("delete_selected"):
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (type(self)._delete_selected, name, description)
        return actions

    def _delete_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """Django's confirmation page; once confirmed, each row through the service."""
        if not request.POST.get("post"):
            return confirm_delete_selected(self, request, queryset)
        if not self.has_delete_permission(request):
            raise PermissionDenied
        self.run_service_action(
            request,
            queryset,
            lambda obj: self.delete_model(request, obj),
            "Deleted",
            with_name=False,
        )
        return None

    # --- who may ---

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_company_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_company_admin(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_company_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_company_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_company_admin(request.user)

    # --- what they see ---

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return scope_to_company(super().get_queryset(request), request.user)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ScopedChangeList

    def lookup_allowed(self, lookup: str, value: Any, request: Any = None) -> bool:
        if holds_nul(lookup) or holds_nul(value):
            return False  # refused (400) before it reaches a filter or the database
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[Any], search_term: str
    ) -> tuple[models.QuerySet[Any], bool]:
        if holds_nul(search_term):
            # The autocomplete passes its term unchecked (the list's search box refuses one).
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Another company's id looks exactly like an id that never existed.
            raise Http404("No such object.")
        return obj

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or company_field_of(self.model) != "company":
            return fieldsets
        # A company admin's objects are stamped with their own company: no field to choose it.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "company"]})
            for name, options in fieldsets
        ]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and company_field_of(self.model) == "company":
            exclude.append("company")
        return exclude

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        error: DomainError | None = getattr(request, "_service_error", None)
        if error is None:
            return form_class

        message, field = error.message, error.field

        class FormWithServiceError(form_class):  # type: ignore[valid-type,misc]
            def clean(self) -> Any:
                cleaned = super().clean()
                self.add_error(field if field in self.fields else None, message)
                return cleaned

        return FormWithServiceError

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and company_field_of(self.model) == "company":
            filters.insert(0, ("company", CompanyListFilter))
        return filters

    def company_for(self, request: HttpRequest, obj: Any) -> Company:
        """The company a new object belongs to: the admin's own, or the operator's choice."""
        user: User = request.user  # type: ignore[assignment]
        if user.is_superuser and getattr(obj, "company_id", None):
            return obj.company
        if user.company is None:
            raise DomainError("Choose a company for this object.", field="company")
        return user.company

    # --- service errors as form errors ---

    def _changeform_view(
        self, request: HttpRequest, object_id: Any, form_url: str, extra_context: Any
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "admin_section": self.admin_section}
        try:
            with transaction.atomic():
                return super()._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except DomainError as error:
            # Render the same form again, invalid, with the service's words beside the field.
            request._service_error = error  # type: ignore[attr-defined]
            return super()._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    # --- page titles in the admin's words ---

    def add_title(self) -> str:
        """ "Add a user", "Add an office", "Add an API key" ("u" of user sounds like "you")."""
        name = str(self.opts.verbose_name)
        article = "an" if name[:1].lower() in "aeio" else "a"
        return f"Add {article} {name}"

    def object_title(self, obj: Any) -> str:
        """An object's page is named by the object: its name, and its email address when it has
        one the name does not show ("Ada Lovelace (ada@acme.example)")."""
        name = str(obj)
        email = getattr(obj, "email", "")
        return f"{name} ({email})" if email and email not in name else name

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        # Django's "Add user" / "Change office" / "View audit event", unless the page has a name
        # of its own ("Company profile"): the object's name heads the page instead (and is
        # then no second heading beneath it).
        name = self.opts.verbose_name
        generic = {_("Add %s") % name, _("Change %s") % name, _("View %s") % name}
        if context.get("title") in generic:
            if obj is None or obj.pk is None:
                context["title"] = self.add_title()
            else:
                context["title"] = self.object_title(obj)
                context["subtitle"] = None
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # The list's name ("Offices"), not Django's "Select office to change".
        extra_context = {
            "title": capfirst(self.opts.verbose_name_plural),
            "add_title": self.add_title(),
            **(extra_context or {}),
            "admin_section": self.admin_section,
        }
        return super().changelist_view(request, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "admin_section": self.admin_section}
        try:
            with transaction.atomic():
                return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(request.path)

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        # Django filters by the posted ids as they come: "abc" would be a 500, not a refusal.
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                self.model._meta.pk.to_python(value)
        except ValidationError:
            self.message_user(
                request,
                "The selection names items that do not exist. No items have been changed.",
                level=messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        # Bulk delete goes through delete_model one by one, so services see every row.
        for obj in queryset:
            self.delete_model(request, obj)

    def run_service_action(
        self,
        request: HttpRequest,
        queryset: Any,
        service: Any,
        verb: str,
        *,
        with_name: bool = True,
    ) -> None:
        """Apply a service to each selected row, each in its own savepoint; report successes
        and each refusal in words ("London: …", or the service's sentence alone when it names
        the row itself)."""
        done = 0
        for obj in queryset:
            try:
                with transaction.atomic():
                    service(obj)
                done += 1
            except DomainError as error:
                text = f"{obj}: {error.message}" if with_name else error.message
                self.message_user(request, text, level=messages.ERROR)
        if done:
            noun = str(model_ngettext(self.opts, done))
            self.message_user(request, f"{verb} {count(done, noun, noun)}.", level=messages.SUCCESS)

    def save_model(
        self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
    ) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must save through a service (override save_model)."
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must delete through a service (override delete_model)."
        )


class CompanyScopedInline(TenantFormMixin, admin.TabularInline):
    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return scope_to_company(super().get_queryset(request), request.user)


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A foreign-key list filter whose choices are the admin's own company's rows only.

    Django's RelatedFieldListFilter lists every row of the related model: another company's
    office names would leak into the sidebar. Use `("office", ScopedRelatedFieldListFilter)`.
    """

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        related = scope_to_company(field.related_model._default_manager.all(), request.user)
        return [(obj.pk, str(obj)) for obj in related]
