"""One way to show a moment in Admin Settings: "2026-12-07 17:00 CET", in the company's time zone
(its main office's; UTC for operators and companies without offices)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.utils import timezone

FORMAT = "%Y-%m-%d %H:%M %Z"


def company_zone(company: Any) -> tzinfo:
    if company is None:
        return UTC
    cached = getattr(company, "_time_zone", None)
    if cached is not None:
        return cached
    # Offices build on accounts: their rows are read through the company's reverse relation.
    name = company.offices.filter(is_main=True).values_list("timezone", flat=True).first()
    try:
        zone: tzinfo = zoneinfo.ZoneInfo(name) if name else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = UTC
    company._time_zone = zone
    return zone


def format_moment(moment: datetime | None, company: Any = None) -> str:
    """The moment in the company's time zone, or "" for none."""
    if moment is None:
        return ""
    return timezone.localtime(moment, company_zone(company)).strftime(FORMAT)
