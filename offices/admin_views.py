"""Admin Settings › Offices & Numbers › Area codes: the area codes the company can draw numbers
from, read-only, with which offices have free numbers in each."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.admin_site import admin_site
from accounts.tenancy import scope_to_company
from offices.models import AreaCode, PhoneNumber
from offices.phone import country_name

PER_PAGE = 100


def area_codes_view(request: HttpRequest) -> HttpResponse:
    term = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    codes = AreaCode.objects.order_by("country", "code")
    if term:
        codes = codes.filter(
            Q(code__startswith=term.lstrip("+"))
            | Q(region__icontains=term)
            | Q(country__iexact=term)
        )
    page = Paginator(codes, PER_PAGE).get_page(request.GET.get("p"))
    numbers = scope_to_company(PhoneNumber.objects.all(), request.user).filter(
        area_code__in=[code.pk for code in page.object_list]
    )
    free: dict[int, list[tuple[str, int]]] = defaultdict(list)
    held: dict[int, int] = defaultdict(int)
    for row in (
        numbers.order_by()
        .values("area_code_id", "office__name")
        .annotate(total=Count("pk"), free=Count("pk", filter=Q(assigned_user__isnull=True)))
        .order_by("office__name")
    ):
        held[row["area_code_id"]] += row["total"]
        if row["free"]:
            free[row["area_code_id"]].append(
                (row["office__name"] or "Company reserve", row["free"])
            )
    rows: list[dict[str, Any]] = [
        {
            "code": code,
            "country": country_name(code.country),
            "numbers": held.get(code.pk, 0),
            "free": free.get(code.pk, []),
        }
        for code in page.object_list
    ]
    context = {
        **admin_site.each_context(request),
        "title": "Area codes",
        "admin_section": "offices",
        "rows": rows,
        "page": page,
        "term": term,
    }
    return TemplateResponse(request, "admin/offices/areacode/list.html", context)


admin_site.add_link(
    "offices",
    "Area codes",
    "area_codes",
    "Where numbers can come from, and which offices have free numbers in each.",
)
