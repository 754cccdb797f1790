"""The SCIM write path's one read: the user a PUT, PATCH or DELETE changes, locked, with what the
services and the answer read — in one query, built once (core/sql.py).

The ORM query it replaces (the office, manager, number and area code joined, the approval queue's
two answers annotated, FOR UPDATE) cost more to compile than to run, on every write. The approval
queue's answers are its own expressions, compiled once by the ORM (approvals owns those rules).
The joined models are cached on the user as `select_related` would.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from django.db import connections, router
from django.db.models import Field, Model

from accounts.models import Company, User
from approvals.scim import with_must_queue, with_pending_change_counts
from core.sql import Selection, column, joined
from offices.models import AreaCode, Office, PhoneNumber
from offices.services import remember_number

# The models of the row, in order: the user, its office, manager, number and the number's area
# code. The manager is only shown (its name and email): the rest of its row is left deferred.
_PARTS: tuple[tuple[type[Model], tuple[Field, ...]], ...] = (
    (User, tuple(User._meta.concrete_fields)),
    (Office, tuple(Office._meta.concrete_fields)),
    (User, tuple(column(User, name) for name in ("id", "email", "given_name", "family_name"))),
    (PhoneNumber, tuple(PhoneNumber._meta.concrete_fields)),
    (AreaCode, tuple(AreaCode._meta.concrete_fields)),
)


@cache
def _query(using: str, operation: str) -> tuple[str, list[Any], Selection]:
    """The SQL (company id and user id to follow as parameters), the parameters that come
    before them, and the conversions of the models' columns (the two answers follow them)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    user_table = quote(User._meta.db_table)

    def tbl(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    def col(model: type[Model], name: str) -> str:
        return quote(column(model, name).column)

    # The user's own table keeps its name: the approval expressions, compiled by the ORM, refer
    # to it so.
    aliases = (user_table, "o", "m", "p", "ac")
    selection = Selection(
        using,
        [
            (table, field)
            for table, (_model, fields) in zip(aliases, _PARTS, strict=True)
            for field in fields
        ],
    )
    columns = [selection.sql]
    annotated = with_must_queue(with_pending_change_counts(User.objects.all()), operation).query
    compiler = annotated.get_compiler(using)
    params: list[Any] = []
    for name in ("must_queue", "pending_change_count"):
        sql, found_params = compiler.compile(annotated.annotations[name])
        columns.append(sql)
        params.extend(found_params)

    lock = f" FOR UPDATE OF {user_table}" if connection.features.has_select_for_update_of else ""
    sql = (
        f"SELECT {', '.join(columns)} FROM {user_table} "  # noqa: S608 (names from the models)
        f"LEFT JOIN {tbl(Office)} o ON o.{col(Office, 'id')} = {user_table}.{col(User, 'office')} "
        f"LEFT JOIN {tbl(User)} m ON m.{col(User, 'id')} = {user_table}.{col(User, 'manager')} "
        f"LEFT JOIN {tbl(PhoneNumber)} p "
        f"ON p.{col(PhoneNumber, 'assigned_user')} = {user_table}.{col(User, 'id')} "
        f"LEFT JOIN {tbl(AreaCode)} ac "
        f"ON ac.{col(AreaCode, 'id')} = p.{col(PhoneNumber, 'area_code')} "
        f"WHERE {user_table}.{col(User, 'company')} = %s AND {user_table}.{col(User, 'id')} = %s"
        f"{lock}"
    )
    return sql, params, selection


def _models(using: str, row: list[Any]) -> list[Model | None]:
    """The row's models in `_PARTS` order; None for one that no row was joined for."""
    models: list[Model | None] = []
    start = 0
    for model, fields in _PARTS:
        values = row[start : start + len(fields)]
        start += len(fields)
        models.append(joined(model, using, fields, values))
    return models


def _cache(instance: Model, name: str, related: Model | None) -> None:
    """Set a forward relation as select_related does (no query when it is read)."""
    instance._meta.get_field(name).set_cached_value(instance, related)  # type: ignore[union-attr]


def user_to_write(company: Company, pk: int, operation: str) -> User | None:
    """The company's user `pk` read with its row locked (in the caller's transaction), or None.

    As `select_related("company", "office", "manager", "phone_number__area_code")` would load it
    (the manager's name and email only), annotated like approvals.scim's `with_must_queue` for
    `operation` and `with_pending_change_counts`.
    """
    using = router.db_for_write(User)
    sql, params, selection = _query(using, operation)
    row = selection.fetch_one(using, sql, [*params, company.pk, pk])
    if row is None:
        return None
    models = _models(using, row)
    user = cast(User, models[0])
    office, manager, number, area_code = models[1:]
    _cache(user, "company", company)
    _cache(user, "office", office)
    _cache(user, "manager", manager)
    if number is not None:
        _cache(number, "area_code", area_code)
        _cache(number, "assigned_user", user)
    remember_number(user, cast(PhoneNumber | None, number))
    user.must_queue, user.pending_change_count = row[-2:]  # type: ignore[attr-defined]
    return user
