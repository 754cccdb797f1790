"""The SCIM read path: the rows of a company's users by id, everything a User body shows, in one
query — for GET /Users/{id}, every page of /Users and .search, and the answer after a write.

Statements built once (core/sql.py): the ORM query with the office, number and manager joined
and the pending-change count annotated cost more to compile than to run (and building a model per
row, more than rendering it). PostgreSQL's timestamps are read by psycopg's own loader (see
`user_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Model
from psycopg.types.datetime import TimestamptzLoader

from accounts.models import User, UserCount
from approvals.models import OPEN_STATUSES, PendingChange
from core.sql import Selection, column
from offices.models import Office, PhoneNumber
from provisioning.scim.resources import USER_ROW_FIELDS, UserRow

# The columns after the user's own, in UserRow's order: (related model, its field, the user's
# column that points at it), each read by a scalar subquery on an index.
_RELATED_COLUMNS: tuple[tuple[type[Model], str, str, str], ...] = (
    (Office, "name", "id", "office"),
    (PhoneNumber, "number", "assigned_user", "id"),
    (User, "given_name", "id", "manager"),
    (User, "family_name", "id", "manager"),
    (User, "email", "id", "manager"),
)


@cache
def _user_columns(using: str) -> tuple[str, Selection]:
    """The columns of a UserRow, the user as "u", and their conversions."""
    quote = connections[using].ops.quote_name

    def col(model: type[Model], name: str) -> str:
        return quote(column(model, name).column)

    def tbl(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    own = [("u", column(User, name)) for name in USER_ROW_FIELDS]
    # The related columns are read by the subqueries below (as "r"): here for their conversions.
    selection = Selection(
        using, own + [("r", column(model, name)) for model, name, *_ in _RELATED_COLUMNS]
    )
    # Subqueries, not joins: each is one index probe per row, where the planner would hash-join
    # a whole table (every user of every company, as managers) to a page of 100 rows.
    related = [
        f"(SELECT r.{col(model, name)} FROM {tbl(model)} r "  # noqa: S608 (names from the models)
        f"WHERE r.{col(model, key)} = u.{col(User, points)})"
        for model, name, key, points in _RELATED_COLUMNS
    ]
    statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)  # fixed choice values
    pending = (
        f"(SELECT COUNT(*) FROM {tbl(PendingChange)} c "  # noqa: S608 (names from the models)
        f"WHERE c.{col(PendingChange, 'user')} = u.{col(User, 'id')} "
        f"AND c.{col(PendingChange, 'status')} IN ({statuses}))"
    )
    return ", ".join([Selection(using, own).sql, *related, pending]), selection


@cache
def _user_rows_sql(using: str) -> str:
    """The rows by id: the query ends in `u.id IN `, the ids to follow."""
    quote = connections[using].ops.quote_name
    columns, _selection = _user_columns(using)
    return (
        f"SELECT {columns} FROM {quote(User._meta.db_table)} u "  # noqa: S608 (names from the models, quoted)
        f"WHERE u.{quote(column(User, 'company').column)} = %s "
        f"AND u.{quote(column(User, 'id').column)} IN "
    )


def _fetch(using: str, sql: str, params: Sequence[Any]) -> list[list[Any]]:
    """Run a statement that selects a UserRow's columns (and maybe more after them); its rows
    converted."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg's own timestamptz loader (in C; the connection's time zone is UTC): Django's
            # subclass of it parses in Python, ~4 µs a timestamp, and a page has 200 of them.
            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    return _user_columns(using)[1].convert_rows(using, fetched)


def user_rows(company_id: int, ids: Sequence[int]) -> list[UserRow]:
    """The company's users with these ids, in the order of `ids` (ids of other companies and
    of no user are left out)."""
    if not ids:
        return []
    using = router.db_for_read(User)
    sql = f"{_user_rows_sql(using)}({', '.join(['%s'] * len(ids))})"
    by_id = {row[0]: UserRow._make(row) for row in _fetch(using, sql, [company_id, *ids])}
    return [by_id[pk] for pk in ids if pk in by_id]


def _listed(using: str, alias: str, named: bool) -> str:
    """The condition on `alias`'s row of the users a list holds: the company's (parameter: its
    id) and, named, those a `userName eq` filter finds (parameters: the name, twice)."""
    quote = connections[using].ops.quote_name

    def col(name: str) -> str:
        return f"{alias}.{quote(column(User, name).column)}"

    company = f"{col('company')} = %s"
    if not named:
        return company
    # What the filter's Q selects: the SCIM userName, else the sign-in email.
    return (
        f"{company} AND (LOWER({col('scim_user_name')}) = LOWER(%s) "
        f"OR ({col('scim_user_name')} IS NULL AND LOWER({col('email')}) = LOWER(%s)))"
    )


@cache
def _user_count_sql(using: str, named: bool) -> str:
    """How many users the list holds (parameters: `_listed`'s). The whole list's size is the
    count the database keeps (accounts/user_count.py): counting the company's users took 14 ms
    at 100,000 of them, on every full page."""
    quote = connections[using].ops.quote_name
    if not named:
        counts = quote(UserCount._meta.db_table)
        company = quote(column(UserCount, "company").column)
        users = quote(column(UserCount, "users").column)
        return f"SELECT COALESCE((SELECT {users} FROM {counts} WHERE {company} = %s), 0)"  # noqa: S608 (names from the model, quoted)
    table = quote(User._meta.db_table)
    return f"SELECT COUNT(*) FROM {table} t WHERE {_listed(using, 't', named)}"  # noqa: S608 (names from the model, quoted)


@cache
def _user_page_sql(using: str, named: bool, keyset: bool) -> str:
    """A page's rows and the list's size in one statement. Parameters: whether to count
    whatever the page's size, the limit, the count's condition, the offset, the page's
    condition, then keyset: the id the page starts after and the limit; else the limit and the
    offset."""
    connection = connections[using]
    table = connection.ops.quote_name(User._meta.db_table)
    pk = connection.ops.quote_name(column(User, "id").column)
    columns, _selection = _user_columns(using)
    # The page's ids first (an index-only scan), then the rows of those alone: their subqueries
    # never run for rows skipped.
    where = _listed(using, "p", named)
    ids = (
        f"SELECT p.{pk} FROM {table} p WHERE {where} AND p.{pk} > %s ORDER BY p.{pk} LIMIT %s"  # noqa: S608 (names from the model, quoted)
        if keyset
        else f"SELECT p.{pk} FROM {table} p WHERE {where} ORDER BY p.{pk} LIMIT %s OFFSET %s"  # noqa: S608
    )
    # On PostgreSQL as an array: the rows are then read by index probes, where a join or IN
    # could merge the page with a scan of every user's row up to its last id.
    page = f"= ANY(ARRAY({ids}))" if connection.vendor == "postgresql" else f"IN ({ids})"
    # The list's size, counted only when the page does not tell it: a full page, or one after
    # a keyset start (users deleted before it would be counted in the offset). A scalar subquery
    # runs only when its CASE branch is taken.
    size = (
        f"CASE WHEN %s OR COUNT(*) OVER () = %s THEN ({_user_count_sql(using, named)}) "
        "ELSE %s + COUNT(*) OVER () END"
    )
    return f"SELECT {columns}, {size} FROM {table} u WHERE u.{pk} {page} ORDER BY u.{pk}"  # noqa: S608 (names from the model, quoted)


def user_page(
    company_id: int,
    offset: int,
    limit: int,
    *,
    after: int | None = None,
    user_name: str | None = None,
) -> tuple[list[UserRow], int | None]:
    """Up to `limit` of the company's users by id, skipping `offset` of them or starting after
    the user with id `after` (a keyset start), and how many the list holds: None when the page
    is empty and cannot tell (`user_count` does).

    With `user_name`, the users a `userName eq` filter finds: the SCIM userName, or (no userName)
    the sign-in email, both case-insensitively — what the filter's Q
    (resources.USER_FILTERS["username"]) selects. Identity providers ask it before every create
    and read the whole directory page after page: one statement built once, for each.
    """
    using = router.db_for_read(User)
    condition = _condition(company_id, user_name)
    counted = after is not None
    # The first page starts after id 0 (ids are positive), without an OFFSET.
    keyset = counted or offset == 0
    start = [after or 0, limit] if keyset else [limit, offset]
    params = [counted, limit, *condition, offset, *condition, *start]
    rows = _fetch(using, _user_page_sql(using, user_name is not None, keyset), params)
    if not rows:
        return [], None if counted or offset else 0
    return [UserRow._make(row[:-1]) for row in rows], rows[0][-1]


def user_count(company_id: int, user_name: str | None = None) -> int:
    """How many users `user_page` lists."""
    using = router.db_for_read(User)
    with connections[using].cursor() as cursor:
        cursor.execute(
            _user_count_sql(using, user_name is not None), _condition(company_id, user_name)
        )
        return cursor.fetchone()[0]


def _condition(company_id: int, user_name: str | None) -> list[Any]:
    if user_name is None:
        return [company_id]
    # Lowered by the database, as the filter compares it (accounts.models.lowered_by_database).
    return [company_id, user_name, user_name]
