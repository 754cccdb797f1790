"""The door's reads: a company's users as the rows a User body shows (one query for GET, every
page of /Users and .search, and the answer after a write), the user a write changes (locked, one
query), and the offices Groups are.

The rows of users and the user a write locks are read by SQL written out here (each column
converted as the ORM converts it): the same statements built with the ORM took ~10 ms of Python
to build and compile for each page and `userName eq` filter, and ~3.8 ms for each write's locked
read, which PostgreSQL runs in ~0.5 ms; a model per row cost more than rendering it
(docs/performance.md, "SCIM user rows by SQL written out" and "A SCIM write's locked read
written out"). Everything else is the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from django.db import connections, router
from django.db.models import Field, Model, Prefetch, QuerySet
from django.db.models.expressions import Col
from psycopg.types.datetime import TimestamptzLoader

from accounts.models import Company, User, UserCount
from approvals.models import OPEN_STATUSES
from offices.models import AreaCode, Office, PhoneNumber
from offices.services import remember_number
from provisioning.scim.queries import user_named
from provisioning.scim.rendering import USER_ROW_FIELDS, UserRow

# The user's own columns of a UserRow, each with the alias of its table.
_USER_ROW_FIELDS = tuple(
    ("u", cast("Field[Any, Any]", User._meta.get_field(name))) for name in USER_ROW_FIELDS
)

# How many of user "u"'s changes wait (approvals' open statuses, fixed values).
_OPEN_CHANGES = (
    "(SELECT COUNT(*) FROM approvals_pendingchange c WHERE c.user_id = u.id"  # noqa: S608 (fixed choice values)
    f" AND c.status IN ({', '.join(repr(str(status)) for status in OPEN_STATUSES)}))"
    " AS pending_changes"
)

# A UserRow's columns, the user as "u": its own, then its office's name, work number, manager's
# name and email, and how many of its changes wait.
# Scalar subqueries, not joins: each is one index probe per row, where the planner would
# hash-join a whole table (every user of every company, as managers) to a page of 100 rows.
_USER_ROW_COLUMNS = ", ".join(
    [
        *(f"u.{field.column}" for _table, field in _USER_ROW_FIELDS),
        "(SELECT o.name FROM offices_office o WHERE o.id = u.office_id) AS office_name",
        "(SELECT n.number FROM offices_phonenumber n WHERE n.assigned_user_id = u.id)"
        " AS work_number",
        "(SELECT m.given_name FROM accounts_user m WHERE m.id = u.manager_id)"
        " AS manager_given_name",
        "(SELECT m.family_name FROM accounts_user m WHERE m.id = u.manager_id)"
        " AS manager_family_name",
        "(SELECT m.email FROM accounts_user m WHERE m.id = u.manager_id) AS manager_email",
        _OPEN_CHANGES,
    ]
)


Columns = tuple[tuple[str, "Field[Any, Any]"], ...]


@cache
def _converters(alias: str, columns: Columns) -> list[tuple[int, Col, list[Any]]]:
    """Per column that needs it, what Django converts it with when it reads the model (JSON text
    parsed, SQLite's timestamps made aware)."""
    connection = connections[alias]
    found = []
    for index, (table, field) in enumerate(columns):
        column = field.get_col(table)
        functions = connection.ops.get_db_converters(column)
        if hasattr(field, "from_db_value"):  # as Field.get_db_converters adds it
            functions = [*functions, field.from_db_value]
        if functions:
            found.append((index, column, functions))
    return found


def _fetch(
    sql: str, params: list[Any], columns: Columns = _USER_ROW_FIELDS, alias: str | None = None
) -> list[list[Any]]:
    """The rows of a statement that selects these columns first (a UserRow's, unless said; maybe
    more after them), converted as the ORM converts them."""
    alias = alias or router.db_for_read(User)
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg's own timestamptz loader, in C: Django's subclass of it parses in Python,
            # ~4 µs a timestamp, and a page has 200 of them.
            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        rows = [list(row) for row in cursor.fetchall()]
    for index, column, functions in _converters(alias, columns):
        for row in rows:
            for function in functions:
                row[index] = function(row[index], column, connection)
    return rows


def user_rows_statement(company_id: int, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """The statement `user_rows` runs, and its parameters."""
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {_USER_ROW_COLUMNS} FROM accounts_user u "  # noqa: S608 (no value in the text)
        f"WHERE u.company_id = %s AND u.id IN ({placeholders})"
    )
    return sql, [company_id, *ids]


def user_rows(company_id: int, ids: Sequence[int]) -> list[UserRow]:
    """The company's users with these ids, in the order of `ids` (ids of other companies and
    of no user are left out)."""
    if not ids:
        return []
    rows = _fetch(*user_rows_statement(company_id, ids))
    by_id = {row[0]: UserRow._make(row) for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


# The users a list holds, as "p": the company's (parameter: its id) and, for a `userName eq`
# filter, those with that SCIM userName, else (no userName) that sign-in email, both
# case-insensitively as the database lowers them (parameters: the name, twice) — what the
# filter's Q, queries.user_named, selects.
_LISTED = "p.company_id = %s"
_NAMED = (
    " AND (LOWER(p.scim_user_name) = LOWER(%s)"
    " OR (p.scim_user_name IS NULL AND LOWER(p.email) = LOWER(%s)))"
)
# The whole list's size is the count the database keeps (accounts/user_count.py): counting the
# company's users took 14 ms at 100,000 of them, on every full page.
_KEPT_SIZE = "COALESCE((SELECT k.users FROM accounts_usercount k WHERE k.company_id = %s), 0)"


def user_page_statement(
    company_id: int, offset: int, limit: int, *, after: int | None, user_name: str | None
) -> tuple[str, list[Any]]:
    """The statement `user_page` runs, and its parameters: the page's ids first (an index-only
    scan), then the rows of those alone (their subqueries never run for rows skipped), each with
    the list's size."""
    listed: str = _LISTED
    listed_params: list[Any] = [company_id]
    size, size_params = _KEPT_SIZE, [company_id]
    if user_name is not None:
        listed, listed_params = _LISTED + _NAMED, [company_id, user_name, user_name]
        size = f"(SELECT COUNT(*) FROM accounts_user p WHERE {listed})"  # noqa: S608 (no value in the text)
        size_params = listed_params
    counted = after is not None
    # The first page starts after id 0 (ids are positive), without an OFFSET.
    if counted or offset == 0:
        ids = (
            f"SELECT p.id FROM accounts_user p WHERE {listed} AND p.id > %s ORDER BY p.id LIMIT %s"  # noqa: S608 (no value in the text)
        )
        ids_params = [*listed_params, after or 0, limit]
    else:
        ids = f"SELECT p.id FROM accounts_user p WHERE {listed} ORDER BY p.id LIMIT %s OFFSET %s"  # noqa: S608 (no value in the text)
        ids_params = [*listed_params, limit, offset]
    # Counted only when the page does not tell the size: a full page, or one after a keyset
    # start (users deleted before it would be counted in the offset). A scalar subquery runs
    # only when its CASE branch is taken.
    if not counted:
        size = f"CASE WHEN COUNT(*) OVER () = %s THEN {size} ELSE %s + COUNT(*) OVER () END"
        size_params = [limit, *size_params, offset]
    # On PostgreSQL the page's ids as an array: its rows are then read by index probes, where a
    # join or IN could merge the page with a scan of every user's row up to its last id
    # (measured at 5,000 users: tests/provisioning/test_scim_performance.py).
    on_postgresql = connections[router.db_for_read(User)].vendor == "postgresql"
    page = f"= ANY(ARRAY({ids}))" if on_postgresql else f"IN ({ids})"
    sql = (
        f"SELECT {_USER_ROW_COLUMNS}, {size} AS size FROM accounts_user u "  # noqa: S608 (no value in the text)
        f"WHERE u.id {page} ORDER BY u.id"
    )
    return sql, [*size_params, *ids_params]


def user_page(
    company_id: int,
    offset: int,
    limit: int,
    *,
    after: int | None = None,
    user_name: str | None = None,
) -> tuple[list[UserRow], int | None]:
    """Up to `limit` of the company's users by id (with `user_name`, of those a `userName eq`
    filter finds), skipping `offset` of them or starting after the user with id `after` (a
    keyset start), and how many the list holds: None when the page is empty and cannot tell
    (`user_count` does). One statement: identity providers read the whole directory page after
    page, and ask `userName eq` before every create."""
    statement = user_page_statement(company_id, offset, limit, after=after, user_name=user_name)
    found = _fetch(*statement)
    if not found:
        return [], None if after is not None or offset else 0
    return [UserRow._make(row[:-1]) for row in found], found[0][-1]


def user_count(company_id: int, user_name: str | None = None) -> int:
    """How many users `user_page` lists."""
    if user_name is None:
        kept = UserCount.objects.filter(company_id=company_id).values_list("users", flat=True)
        return kept.first() or 0
    return User.objects.filter(user_named(user_name), company_id=company_id).count()


# The user a write changes, as "u", and what its answer shows, each a model's columns: its office
# "o", its manager "m" (only the name and email the answer shows), its number "n" and that
# number's area code "a". Built with the ORM (select_related and a Subquery) the statement took
# ~3.8 ms of Python to build and compile per PATCH, for ~0.6 ms in PostgreSQL
# (docs/performance.md, "A SCIM write's locked read written out").
_MANAGER_FIELDS = ("id", "email", "given_name", "family_name")
_LOCKED_USER_PARTS: tuple[tuple[type[Model], str, tuple[Field[Any, Any], ...]], ...] = (
    (User, "u", tuple(User._meta.concrete_fields)),
    (Office, "o", tuple(Office._meta.concrete_fields)),
    (User, "m", tuple(f for f in User._meta.concrete_fields if f.name in _MANAGER_FIELDS)),
    (PhoneNumber, "n", tuple(PhoneNumber._meta.concrete_fields)),
    (AreaCode, "a", tuple(AreaCode._meta.concrete_fields)),
)
_LOCKED_USER_COLUMNS = tuple(
    (table, field) for _model, table, fields in _LOCKED_USER_PARTS for field in fields
)
_LOCKED_USER_FROM = (
    "accounts_user u"
    " LEFT JOIN offices_office o ON o.id = u.office_id"
    " LEFT JOIN accounts_user m ON m.id = u.manager_id"
    " LEFT JOIN offices_phonenumber n ON n.assigned_user_id = u.id"
    " LEFT JOIN offices_areacode a ON a.id = n.area_code_id"
)
_OFFICE = User._meta.get_field("office")
_MANAGER = User._meta.get_field("manager")
_AREA_CODE = PhoneNumber._meta.get_field("area_code")
_HOLDER = PhoneNumber._meta.get_field("assigned_user")


def user_to_write(company: Company, pk: int) -> User | None:
    """The company's user `pk` read with its row locked (in the caller's transaction), or None:
    with its office, manager (name and email), number and its area code, and annotated with how
    many of its changes wait for an approver (`pending_change_count`: with the company's policy,
    whether a change must wait too) — in one query, each model built as the ORM builds it
    (`Model.from_db`, the related ones cached on it as select_related caches them)."""
    alias = router.db_for_write(User)
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = ", ".join(f"{table}.{quote(field.column)}" for table, field in _LOCKED_USER_COLUMNS)
    lock = ""
    if connection.features.has_select_for_update_of:
        lock = " " + connection.ops.for_update_sql(of=("u",))
    elif connection.features.has_select_for_update:
        lock = " " + connection.ops.for_update_sql()
    sql = (
        f"SELECT {columns}, {_OPEN_CHANGES} FROM {_LOCKED_USER_FROM}"  # noqa: S608 (no value in the text)
        f" WHERE u.company_id = %s AND u.id = %s{lock}"
    )
    rows = _fetch(sql, [company.pk, pk], _LOCKED_USER_COLUMNS, alias)
    if not rows:
        return None
    row = rows[0]
    user, office, manager, number, area_code = _models(alias, row)
    _OFFICE.set_cached_value(user, office)
    _MANAGER.set_cached_value(user, manager)
    if number is not None:
        _AREA_CODE.set_cached_value(number, area_code)
        _HOLDER.set_cached_value(number, user)
    remember_number(user, number)
    user.company = company
    user.pending_change_count = row[-1]
    return user


def _models(alias: str, row: list[Any]) -> list[Any]:
    """A locked user's row as its models, each None when its join found nothing."""
    found: list[Any] = []
    start = 0
    for model, _table, fields in _LOCKED_USER_PARTS:
        values = row[start : start + len(fields)]
        start += len(fields)
        names = [field.attname for field in fields]
        # Each part starts with its primary key: NULL when its LEFT JOIN found no row.
        found.append(None if values[0] is None else model.from_db(alias, names, values))
    return found


def offices(company: Company, *, members: bool) -> QuerySet[Office]:
    """The company's offices (Groups), with their members unless the answer leaves them out."""
    found = Office.objects.filter(company=company)
    if not members:
        return found
    shown = User.objects.order_by("pk").only(
        "pk", "office_id", "email", "display_name", "given_name", "family_name"
    )
    return found.prefetch_related(Prefetch("users", queryset=shown))


def office_to_write(company: Company, pk: int) -> Office | None:
    """The office a Group write changes, locked, its members read after the lock: writes of one
    group take turns, each applying its operations to the members as the one before left them.
    FOR NO KEY UPDATE: users moving in on their own (a user's officeName) do not wait for it
    (offices.selectors.hold_office)."""
    locked = offices(company, members=True).select_for_update(of=("self",), no_key=True)
    return locked.filter(pk=pk).first()
