"""List filters the stock admin lacks: free-text and date-range inputs, and ghost accounts.

They render as small GET forms in the filter sidebar (admin/switchboard/input_filter.html) and
keep every other filter of the page when submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils import timezone

from accounts import audit_events, selectors
from accounts.audit import Source
from accounts.models import User


@dataclass
class InputField:
    parameter: str
    label: str
    input_type: str = "search"
    placeholder: str = ""


class InputFilter(admin.ListFilter):
    """A filter whose values are typed, not picked: one or more named inputs."""

    template = "admin/switchboard/input_filter.html"
    fields: tuple[InputField, ...] = ()

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any):
        super().__init__(request, params, model, model_admin)
        for field in self.fields:
            if field.parameter in params:
                value = params.pop(field.parameter)
                value = value[-1] if isinstance(value, list) else value
                if value.strip():
                    self.used_parameters[field.parameter] = value.strip()

    def value(self, parameter: str) -> str:
        return str(self.used_parameters.get(parameter, ""))

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [field.parameter for field in self.fields]

    def choices(self, changelist: Any) -> Any:
        mine = set(self.expected_parameters())
        yield {
            "inputs": [
                {
                    "name": field.parameter,
                    "label": field.label,
                    "type": field.input_type,
                    "placeholder": field.placeholder,
                    "value": self.value(field.parameter),
                }
                for field in self.fields
            ],
            # The other filters, search and ordering of the page survive a submit.
            "hidden": [
                (name, value)
                for name, values in changelist.params.items()
                if name not in mine and name != "p"
                for value in (values if isinstance(values, list) else [values])
            ],
            "clear_url": changelist.get_query_string(remove=list(mine)),
            "active": bool(self.used_parameters),
        }


class ActorFilter(InputFilter):
    title = "actor"
    fields = (InputField("actor", "Who", placeholder="email, key name or “system”"),)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        actor = self.value("actor")
        return queryset.filter(actor_label__icontains=actor) if actor else queryset


class TargetFilter(InputFilter):
    """By the target's name or email (typed), or exactly by type and id (links from a user)."""

    title = "target"
    fields = (
        InputField("target", "What it changed", placeholder="name, email or number"),
        InputField("target_type", "Target type", input_type="hidden"),
        InputField("target_id", "Target id", input_type="hidden"),
    )

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        target = self.value("target")
        if target:
            # A user is labelled by name; admins also look them up by email.
            by_email = User.objects.filter(email__icontains=target).values_list(
                Cast("pk", output_field=CharField()), flat=True
            )
            queryset = queryset.filter(
                Q(target_label__icontains=target)
                | Q(target_id=target)
                | Q(target_type=selectors.USER_TARGET_TYPE, target_id__in=by_email)
            )
        if self.value("target_type"):
            queryset = queryset.filter(target_type=self.value("target_type"))
        if self.value("target_id"):
            queryset = queryset.filter(target_id=self.value("target_id"))
        return queryset


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class DateRangeFilter(InputFilter):
    """From and to (inclusive) days, in the site's time zone; an unreadable date is ignored."""

    title = "date range"
    fields = (
        InputField("from", "From", input_type="date"),
        InputField("to", "To (inclusive)", input_type="date"),
    )

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any):
        super().__init__(request, params, model, model_admin)
        for name in ("from", "to"):
            if name in self.used_parameters and _parse_day(self.value(name)) is None:
                del self.used_parameters[name]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        zone = timezone.get_current_timezone()
        start = _parse_day(self.value("from"))
        end = _parse_day(self.value("to"))
        if start is not None:
            queryset = queryset.filter(created_at__gte=datetime.combine(start, time.min, zone))
        if end is not None:
            next_day = datetime.combine(end + timedelta(days=1), time.min, zone)
            queryset = queryset.filter(created_at__lt=next_day)
        return queryset


class GhostAccountFilter(admin.SimpleListFilter):
    """Active users OneLogin does not vouch for: made by hand, or SCIM-managed but not heard of
    by SCIM for N days. The value is N (`?ghost=30`); any whole number of days works."""

    title = "ghost accounts"
    parameter_name = "ghost"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return [
            (str(days), f"Not seen by SCIM for {days} days")
            for days in (7, selectors.GHOST_DAYS_DEFAULT, 90)
        ]

    def days(self) -> int | None:
        value = self.value()
        if value is None:
            return None
        try:
            days = int(value)
        except ValueError:
            days = 0
        if not 1 <= days <= 3650:
            # The changelist answers this with its "filters are wrong" notice, not a 500.
            raise IncorrectLookupParameters("Ghost accounts: give a number of days, 1 to 3650.")
        return days

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        days = self.days()
        if days is None:
            return queryset
        return selectors.ghost_accounts(queryset, days=days)


class SourceFilter(admin.SimpleListFilter):
    """Which door a change came through, in words ("Admin Settings", not "admin")."""

    title = "source"
    parameter_name = "source__exact"  # Django's field filter's parameter: links still work

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return Source.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value is None else queryset.filter(source=value)


class EventTypeFilter(admin.SimpleListFilter):
    """What happened, in the registry's words; only the kinds the company's log holds."""

    title = "what happened"
    # The parameter Django's own field filter used, so links such as the SCIM panel's still work.
    parameter_name = "action__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        present = set(
            model_admin.get_queryset(request).order_by().values_list("action", flat=True).distinct()
        )
        return sorted(
            ((code, audit_events.label(code)) for code in present), key=lambda choice: choice[1]
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value is None else queryset.filter(action=value)
