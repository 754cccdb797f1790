"""Admin Settings › Offices & Numbers: offices, phone numbers and the CSV import, all through
offices.services."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from accounts.admin_site import admin_site
from accounts.audit import Source
from accounts.errors import DomainError
from accounts.models import User
from accounts.tenancy import CompanyScopedAdmin, ScopedRelatedFieldListFilter, scope_to_company
from accounts.words import count
from offices import services
from offices.models import AreaCode, NumberStatus, Office, PhoneNumber
from offices.phone import country_name, country_names, parse_number
from offices.selectors import office_deletion_blockers, with_counts

# The office page lists this many people and numbers; the lists behind its links have them all.
OFFICE_PAGE_ROWS = 25
# A search term written as a phone number: digits with the usual separators, e.g. (415) 555-0100.
PHONE_NUMBER_SEARCH = re.compile(r"[0-9 ()+./-]*[0-9][0-9 ()+./-]*")


def _listed(items: str, *, total: int, link: str, noun: str, where: str, empty: str) -> str:
    """The first rows of an office's people or numbers, and a link to all of them."""
    if not total:
        return empty
    return format_html(
        '<ul class="office-list">{}</ul><p><a href="{}">All {} in {}</a></p>',
        items,
        link,
        count(total, noun),
        where,
    )


def _actor(request: HttpRequest) -> User:
    # Admin Settings only lets signed-in company admins (and operators) this far.
    return cast(User, request.user)


class OfficeForm(forms.ModelForm):
    country = forms.ChoiceField(choices=[])
    timezone = forms.ChoiceField(choices=[], help_text="Calls, schedules and reports use it.")

    class Meta:
        model = Office
        fields = ("company", "name", "country", "timezone", "is_main")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country_field = cast(forms.ChoiceField, self.fields["country"])
        timezone_field = cast(forms.ChoiceField, self.fields["timezone"])
        country_field.choices = [("", "---------"), *country_names().items()]
        timezone_field.choices = [
            ("", "---------"),
            *((name, name.replace("_", " ")) for name in sorted(services._timezones())),
        ]
        self.fields["is_main"].help_text = (
            "The company's main office. Exactly one office is main: ticking it here moves the "
            "flag from the current main office."
        )


@admin.register(Office, site=admin_site)
class OfficeAdmin(CompanyScopedAdmin):
    admin_section = "offices"
    admin_description = "Where your people sit: country, time zone, users and numbers."
    form = OfficeForm
    list_display = ("name", "country_display", "timezone", "is_main", "users", "numbers")
    search_fields = ("name",)
    ordering = ("-is_main", "name")
    actions = ("make_main",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Office]:
        return with_counts(super().get_queryset(request))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        people_and_numbers = ("people", "office_numbers")
        fieldsets = [
            (
                name,
                {
                    **options,
                    "fields": [f for f in options["fields"] if f not in people_and_numbers],
                },
            )
            for name, options in super().get_fieldsets(request, obj)
        ]
        if obj is None:
            return fieldsets
        return [*fieldsets, ("People and numbers", {"fields": people_and_numbers})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("people", "office_numbers") if obj is not None else ()

    @admin.display(description="People")
    def people(self, obj: Office) -> str:
        users = obj.users.order_by("family_name", "given_name", "email")[:OFFICE_PAGE_ROWS]
        return _listed(
            format_html_join(
                "",
                '<li><a href="{}">{}</a> · {}</li>',
                (
                    (reverse("admin:accounts_user_change", args=[user.pk]), str(user), user.email)
                    for user in users
                ),
            ),
            total=obj.users.count(),
            link=f"{reverse('admin:accounts_user_changelist')}?office__id__exact={obj.pk}",
            noun="user",
            where="the Users list",
            empty="Nobody sits in this office yet.",
        )

    @admin.display(description="Phone numbers")
    def office_numbers(self, obj: Office) -> str:
        numbers = obj.phone_numbers.select_related("assigned_user").order_by("number")
        return _listed(
            format_html_join(
                "",
                "<li>{} · {}</li>",
                (
                    (n.formatted, n.assigned_user.email if n.assigned_user else "free")
                    for n in numbers[:OFFICE_PAGE_ROWS]
                ),
            ),
            total=obj.phone_numbers.count(),
            link=f"{reverse('admin:offices_phonenumber_changelist')}?office__id__exact={obj.pk}",
            noun="phone number",
            where="the Phone numbers list",
            empty="This office has no phone numbers yet. Add or import them under Phone numbers.",
        )

    @admin.display(description="Country", ordering="country")
    def country_display(self, obj: Office) -> str:
        return f"{country_name(obj.country)} ({obj.country})"

    @admin.display(description="Users", ordering="user_count")
    def users(self, obj: Office) -> str:
        url = reverse("admin:accounts_user_changelist")
        return format_html('<a href="{}?office__id__exact={}">{}</a>', url, obj.pk, obj.user_count)  # type: ignore[attr-defined]

    @admin.display(description="Numbers (free)", ordering="number_count")
    def numbers(self, obj: Office) -> str:
        url = reverse("admin:offices_phonenumber_changelist")
        return format_html(
            '<a href="{}?office__id__exact={}">{} ({} free)</a>',
            url,
            obj.pk,
            obj.number_count,  # type: ignore[attr-defined]
            obj.free_number_count,  # type: ignore[attr-defined]
        )

    @admin.action(description="Make the selected office the main office")
    def make_main(self, request: HttpRequest, queryset: QuerySet[Office]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one office.", level=messages.ERROR)
            return
        self.run_service_action(
            request,
            queryset,
            lambda office: services.set_main_office(
                office=office, actor=_actor(request), source=Source.ADMIN
            ),
            "Made main:",
        )

    def save_model(self, request: HttpRequest, obj: Office, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]
        data = form.cleaned_data
        if not change:
            created = services.create_office(
                company=self.company_for(request, obj),
                name=data["name"],
                country=data["country"],
                timezone=data["timezone"],
                is_main=bool(data.get("is_main")),
                actor=actor,
                source=Source.ADMIN,
            )
            obj.pk = created.pk
            return
        current = Office.objects.get(pk=obj.pk)
        services.update_office(
            office=current,
            name=data["name"],
            country=data["country"],
            timezone=data["timezone"],
            actor=actor,
            source=Source.ADMIN,
        )
        if data.get("is_main") and not current.is_main:
            services.set_main_office(office=current, actor=actor, source=Source.ADMIN)
        elif current.is_main and not data.get("is_main"):
            raise DomainError(
                "A company always has a main office: to change it, make another office the "
                "main office.",
                field="is_main",
            )

    def deletion_blockers(self, obj: Office) -> list[str]:
        return office_deletion_blockers(obj)

    def delete_model(self, request: HttpRequest, obj: Office) -> None:
        services.delete_office(office=obj, actor=request.user, source=Source.ADMIN)  # type: ignore[arg-type]


class OfficeFilter(ScopedRelatedFieldListFilter):
    """The company's offices, and "Company reserve" for numbers of no office."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = "Company reserve"  # type: ignore[assignment]


class AreaCodeFilter(admin.SimpleListFilter):
    title = "area code"
    parameter_name = "area_code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        used = scope_to_company(PhoneNumber.objects.all(), request.user).values("area_code")
        return [(str(code.pk), str(code)) for code in AreaCode.objects.filter(pk__in=used)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(area_code_id=int(value))


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return NumberStatus.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == NumberStatus.AVAILABLE:
            return queryset.filter(assigned_user__isnull=True)
        if self.value() == NumberStatus.ASSIGNED:
            return queryset.filter(assigned_user__isnull=False)
        return queryset


class PhoneNumberForm(forms.ModelForm):
    number = forms.CharField(
        max_length=40,
        help_text="International format, like +1 415 555 0100, or national in the office's "
        "country.",
    )

    class Meta:
        model = PhoneNumber
        fields = ("company", "number", "office", "assigned_user")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None and cleaned.get("number"):
            # Read as typed ("212 555 0100" in the office's country), stored as E.164.
            office = cleaned.get("office")
            try:
                parsed = parse_number(
                    cleaned["number"], default_country=office.country if office else None
                )
            except DomainError as error:
                self.add_error("number", error.message)
            else:
                cleaned["number"] = parsed.e164
        return cleaned

    def validate_unique(self) -> None:
        # The service checks ownership, in words a person understands ("already belongs to
        # another company"), where the model's check would say "already exists".
        return


class ImportNumbersForm(forms.Form):
    csv_file = forms.FileField(
        label="CSV file",
        help_text="One number per row: a column 'number' (international format) and an "
        "optional column 'office' (an office's name; empty: the company reserve).",
    )


@admin.register(PhoneNumber, site=admin_site)
class PhoneNumberAdmin(CompanyScopedAdmin):
    admin_section = "offices"
    admin_description = "Your numbers: by office, area code and who holds them. Import from CSV."
    form = PhoneNumberForm
    change_list_template = "admin/offices/phonenumber/change_list.html"
    list_display = ("formatted", "office_display", "area_code_display", "assigned_user", "status")
    list_filter = (("office", OfficeFilter), AreaCodeFilter, StatusFilter)
    search_fields = ("assigned_user__email",)
    search_help_text = "Search by digits of the number or by the user's email."
    autocomplete_fields = ("assigned_user",)
    list_select_related = ("office", "area_code", "assigned_user")
    actions = ("release", "move_to_reserve")
    list_per_page = 100

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["number", "office", "assigned_user"]
        if obj is not None:
            fields.insert(1, "area_code_display")
        if request.user.is_superuser and obj is None:
            fields.insert(0, "company")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("number", "area_code_display") if obj is not None else ()

    @admin.display(description="Number", ordering="number")
    def formatted(self, obj: PhoneNumber) -> str:
        return obj.formatted

    @admin.display(description="Office", ordering="office__name")
    def office_display(self, obj: PhoneNumber) -> str:
        return obj.office.name if obj.office else "Company reserve"

    @admin.display(description="Area code", ordering="area_code__code")
    def area_code_display(self, obj: PhoneNumber) -> str:
        return str(obj.area_code) if obj.area_code else "—"

    @admin.display(description="Status")
    def status(self, obj: PhoneNumber) -> str:
        return NumberStatus(obj.status).label

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        by_user, duplicates = super().get_search_results(request, queryset, search_term)
        # Only a term written as a number searches the numbers: "user1@acme.example" is a
        # person, and its "1" must not match every number holding a 1.
        if not PHONE_NUMBER_SEARCH.fullmatch(search_term.strip()):
            return by_user, duplicates
        digits = "".join(ch for ch in search_term if ch.isdigit())
        return queryset.filter(Q(number__contains=digits) | Q(pk__in=by_user.values("pk"))), False

    # --- writes, all through the services ---

    def save_model(self, request: HttpRequest, obj: PhoneNumber, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]
        data = form.cleaned_data
        if not change:
            created = services.add_number(
                company=self.company_for(request, obj),
                number=data["number"],
                office=data.get("office"),
                actor=actor,
                source=Source.ADMIN,
            )
            obj.pk = created.pk
            if data.get("assigned_user"):
                services.reassign_number(
                    phone_number=created,
                    user=data["assigned_user"],
                    actor=actor,
                    source=Source.ADMIN,
                )
            return
        current = PhoneNumber.objects.get(pk=obj.pk)
        if "office" in form.changed_data:
            services.set_number_office(
                phone_number=current, office=data.get("office"), actor=actor, source=Source.ADMIN
            )
        if "assigned_user" in form.changed_data:
            services.reassign_number(
                phone_number=current,
                user=data.get("assigned_user"),
                actor=actor,
                source=Source.ADMIN,
            )

    def deletion_blockers(self, obj: PhoneNumber) -> list[str]:
        holder = obj.assigned_user
        if holder is None:
            return []
        return [f"{obj.formatted} is assigned to {holder.email}. Release it first."]

    def delete_model(self, request: HttpRequest, obj: PhoneNumber) -> None:
        services.remove_number(phone_number=obj, actor=request.user, source=Source.ADMIN)  # type: ignore[arg-type]

    @admin.action(description="Release the selected numbers from their users")
    def release(
        self, request: HttpRequest, queryset: QuerySet[PhoneNumber]
    ) -> TemplateResponse | None:
        held = queryset.filter(assigned_user__isnull=False).select_related("assigned_user")
        if request.POST.get("confirm") != "yes":
            # A released number no longer rings its user: the admin confirms the list first.
            numbers = list(held.order_by("number"))
            if not numbers:
                self.message_user(
                    request, "None of the selected numbers is held by a user.", messages.WARNING
                )
                return None
            context = {
                **self.admin_site.each_context(request),
                "title": f"Release {count(len(numbers), 'number')}?",
                "opts": self.model._meta,
                "admin_section": self.admin_section,
                "numbers": numbers,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "changelist_url": reverse("admin:offices_phonenumber_changelist"),
            }
            return TemplateResponse(
                request, "admin/offices/phonenumber/release_confirmation.html", context
            )
        self.run_service_action(
            request,
            held,
            lambda number: services.reassign_number(
                phone_number=number, user=None, actor=_actor(request), source=Source.ADMIN
            ),
            "Released",
        )
        return None

    @admin.action(description="Move the selected numbers to the company reserve")
    def move_to_reserve(self, request: HttpRequest, queryset: QuerySet[PhoneNumber]) -> None:
        self.run_service_action(
            request,
            queryset,
            lambda number: services.set_number_office(
                phone_number=number, office=None, actor=_actor(request), source=Source.ADMIN
            ),
            "Moved",
        )

    # --- CSV import ---

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="offices_phonenumber_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        user: User = request.user  # type: ignore[assignment]
        errors: list[tuple[int, str]] = []
        total_errors = 0
        # Bound on every POST: Import without a file says so (the empty POST is falsy).
        posted = request.method == "POST"
        form = ImportNumbersForm(
            request.POST if posted else None, request.FILES if posted else None
        )
        if request.method == "POST" and form.is_valid():
            try:
                company = self.company_for(request, PhoneNumber())
                imported = services.import_numbers(
                    company=company,
                    csv_file=form.cleaned_data["csv_file"],
                    actor=user,
                    source=Source.ADMIN,
                )
            except services.NumberImportError as error:
                errors, total_errors = error.errors, error.total
                form.add_error(
                    "csv_file", f"Nothing was imported: {count(error.total, 'row')} with problems."
                )
            except DomainError as error:
                form.add_error("csv_file", error.message)
            else:
                self.message_user(
                    request, f"Imported {count(imported, 'number')}.", level=messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:offices_phonenumber_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import phone numbers",
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "more_errors": max(total_errors - len(errors), 0),
            "admin_section": self.admin_section,
            "changelist_url": reverse("admin:offices_phonenumber_changelist"),
        }
        return TemplateResponse(request, "admin/offices/phonenumber/import.html", context)
