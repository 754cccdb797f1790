"""Cursor pagination: stable under inserts (what an export or a long script needs), opaque
cursors, and a clear 400 for a cursor or page size this API did not give out."""

from __future__ import annotations

from base64 import b64decode
from typing import Any
from urllib.parse import parse_qs

from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from api.errors import APIError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class KeysetPagination(CursorPagination):
    """Ordered by the view's `cursor_ordering` (default "id"): a unique, never-changing column."""

    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    ordering = "id"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self.ordering = getattr(view, "cursor_ordering", self.ordering)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise APIError(
                400,
                f"page_size must be a whole number from 1 to {self.max_page_size}.",
                code="invalid",
                field="page_size",
            )
        return int(raw)

    def decode_cursor(self, request: Request) -> Cursor | None:
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        problem = APIError(
            400,
            "The cursor is not one this API gave out. Use the `next` or `previous` link of a "
            "response as it is, or leave the cursor out to start at the first page.",
            code="invalid_cursor",
            field="cursor",
        )
        if not _is_cursor_text(raw):
            raise problem
        try:
            cursor = super().decode_cursor(request)
        except Exception:  # DRF answers 404 for a bad cursor; ours is a 400
            raise problem from None
        if cursor is None:
            raise problem
        if cursor.position is not None and not _position_fits(str(cursor.position)):
            raise problem
        return cursor


def _is_cursor_text(raw: str) -> bool:
    """Base64 of a query string of DRF's cursor keys, as `encode_cursor` writes it. DRF's own
    decoding skips characters base64 has no use for, so `!!!` read as no cursor at all: the
    first page instead of an error."""
    if raw == "":
        return True  # what DRF writes for the first page: offset 0, forward, no position
    try:
        text = b64decode(raw.encode("ascii"), validate=True).decode("ascii")
    except (UnicodeError, ValueError):  # binascii.Error is a ValueError
        return False
    tokens = parse_qs(text, keep_blank_values=True)
    return (
        bool(tokens)
        and set(tokens) <= {"o", "r", "p"}
        and all(len(v) == 1 for v in tokens.values())
    )


def _position_fits(position: str) -> bool:
    # Every ordering here is by an integer id: anything else would reach the database as a
    # type error.
    return position.isascii() and position.isdigit() and len(position) <= 18
