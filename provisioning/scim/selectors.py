"""The SCIM read path: the rows of a company's users by id, everything a User body shows, in one
query — for GET /Users/{id}, every page of /Users and .search, and the answer after a write.

Statements built once (config/sql.py): the ORM query with the office, number and manager joined
and the pending-change count annotated cost more to compile than to run (and building a model per
row, more than rendering it). PostgreSQL's timestamps are read by psycopg's own loader (see
`user_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connections, router
from django.db.models import Model
from psycopg.types.datetime import TimestamptzLoader

from accounts.models import User
from approvals.models import OPEN_STATUSES, PendingChange
from config.sql import Selection, column
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
def _user_rows_sql(using: str) -> tuple[str, Selection]:
    """The query (ending in `u.id IN `, the ids to follow) and its columns' conversions."""
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
    columns = ", ".join([Selection(using, own).sql, *related, pending])
    sql = (
        f"SELECT {columns} "  # noqa: S608 (names from the models, quoted)
        f"FROM {tbl(User)} u "
        f"WHERE u.{col(User, 'company')} = %s AND u.{col(User, 'id')} IN "
    )
    return sql, selection


def user_rows(company_id: int, ids: Sequence[int]) -> list[UserRow]:
    """The company's users with these ids, in the order of `ids` (ids of other companies and
    of no user are left out)."""
    if not ids:
        return []
    using = router.db_for_read(User)
    connection = connections[using]
    sql, selection = _user_rows_sql(using)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg's own timestamptz loader (in C; the connection's time zone is UTC): Django's
            # subclass of it parses in Python, ~4 µs a timestamp, and a page has 200 of them.
            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(f"{sql}({', '.join(['%s'] * len(ids))})", [company_id, *ids])
        fetched = cursor.fetchall()
    by_id = {row[0]: UserRow(*row) for row in selection.convert_rows(using, fetched)}
    return [by_id[pk] for pk in ids if pk in by_id]


@cache
def _user_ids_named_sql(using: str) -> str:
    quote = connections[using].ops.quote_name

    def col(name: str) -> str:
        return f"u.{quote(column(User, name).column)}"

    return (
        f"SELECT {col('id')} FROM {quote(User._meta.db_table)} u "  # noqa: S608 (names from the model, quoted)
        f"WHERE {col('company')} = %s AND (LOWER({col('scim_user_name')}) = %s "
        f"OR ({col('scim_user_name')} IS NULL AND LOWER({col('email')}) = %s)) "
        f"ORDER BY {col('id')} LIMIT %s OFFSET %s"
    )


def user_ids_named(company_id: int, user_name: str, offset: int, limit: int) -> list[int]:
    """The ids, by id, of the company's users a `userName eq` filter finds: the SCIM userName,
    or (no userName) the sign-in email, both case-insensitively — what the filter's Q
    (resources.USER_FILTERS["username"]) selects, by a query built once: an identity provider's
    sync asks it before every create."""
    using = router.db_for_read(User)
    name = user_name.lower()  # as the filter compares it: Python's lower(), column LOWER()
    with connections[using].cursor() as cursor:
        cursor.execute(_user_ids_named_sql(using), [company_id, name, name, limit, offset])
        return [row[0] for row in cursor.fetchall()]
