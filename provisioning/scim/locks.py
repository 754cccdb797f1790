"""The SCIM write path's one read: the user a PUT, PATCH or DELETE changes, locked, with what the
services and the answer read — in one query, built once.

The ORM query it replaces (the office, manager, number and area code joined, the approval queue's
two answers annotated, FOR UPDATE) cost more to compile than to run, on every write. Here the SQL
is built once from the models' own tables and columns, like selectors.py; the approval queue's
answers are its own expressions, compiled once by the ORM (approvals owns those rules). Rows
become models through `Model.from_db` with the ORM's own column conversions, and the joined
models are cached on the user as `select_related` would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple, cast

from django.db import connections, router
from django.db.models import Field, Model

from accounts.models import Company, User
from approvals.scim import with_must_queue, with_pending_change_counts
from offices.models import AreaCode, Office, PhoneNumber
from offices.services import remember_number

Converter = Callable[[Any, Any, Any], Any]

# The manager is only shown (its name and email): the rest of its row is left deferred.
_MANAGER_FIELDS = ("id", "given_name", "family_name", "email")


class _Part(NamedTuple):
    """One model of the row: its columns' positions, attnames and converters."""

    model: type[Model]
    start: int
    attnames: list[str]
    converters: list[tuple[int, list[Converter], Any]]


def _concrete(model: type[Model], names: tuple[str, ...] | None = None) -> list[Field]:
    fields = list(model._meta.concrete_fields)
    return fields if names is None else [f for f in fields if f.name in names]


@cache
def _query(alias: str, operation: str) -> tuple[str, list[Any], list[_Part]]:
    """The SQL (company id and user id to follow as parameters), the parameters that come
    before them, and how to read the row into models."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    user_table = quote(User._meta.db_table)

    def tbl(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    def col(model: type[Model], name: str) -> str:
        field = model._meta.get_field(name)
        if not isinstance(field, Field) or not field.column:
            raise TypeError(f"{model.__name__}.{name} is not a concrete column")
        return quote(field.column)

    # (table alias, model, fields); the user's own table keeps its name: the approval
    # expressions below, compiled by the ORM, refer to it so.
    joined: list[tuple[str, type[Model], list[Field]]] = [
        (user_table, User, _concrete(User)),
        ("o", Office, _concrete(Office)),
        ("m", User, _concrete(User, _MANAGER_FIELDS)),
        ("p", PhoneNumber, _concrete(PhoneNumber)),
        ("ac", AreaCode, _concrete(AreaCode)),
    ]
    columns: list[str] = []
    parts: list[_Part] = []
    for table, model, fields in joined:
        converters = []
        for position, field in enumerate(fields):
            expression = field.get_col(table)
            found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
                connection
            )
            if found:
                converters.append((position, found, expression))
        parts.append(_Part(model, len(columns), [f.attname for f in fields], converters))
        columns.extend(f"{table}.{quote(f.column)}" for f in fields)

    annotated = with_must_queue(with_pending_change_counts(User.objects.all()), operation).query
    compiler = annotated.get_compiler(alias)
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
    return sql, params, parts


def _model(alias: str, part: _Part, row: tuple[Any, ...]) -> Model | None:
    values = list(row[part.start : part.start + len(part.attnames)])
    if values[0] is None:  # no joined row (the id is the first column of each model)
        return None
    connection = connections[alias]
    for position, functions, column in part.converters:
        for function in functions:
            values[position] = function(values[position], column, connection)
    return part.model.from_db(alias, part.attnames, values)


def _cache(instance: Model, name: str, related: Model | None) -> None:
    """Set a forward relation as select_related does (no query when it is read)."""
    instance._meta.get_field(name).set_cached_value(instance, related)  # type: ignore[union-attr]


def user_to_write(company: Company, pk: int, operation: str) -> User | None:
    """The company's user `pk` read with its row locked (in the caller's transaction), or None.

    As `select_related("company", "office", "manager", "phone_number__area_code")` would load it
    (the manager's name and email only), annotated like approvals.scim's `with_must_queue` for
    `operation` and `with_pending_change_counts`.
    """
    alias = router.db_for_write(User)
    sql, params, parts = _query(alias, operation)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [*params, company.pk, pk])
        row = cursor.fetchone()
    if row is None:
        return None
    user_part, office_part, manager_part, number_part, area_code_part = parts
    user = cast(User, _model(alias, user_part, row))
    _cache(user, "company", company)
    _cache(user, "office", _model(alias, office_part, row))
    _cache(user, "manager", _model(alias, manager_part, row))
    number = cast(PhoneNumber | None, _model(alias, number_part, row))
    if number is not None:
        _cache(number, "area_code", _model(alias, area_code_part, row))
        _cache(number, "assigned_user", user)
    remember_number(user, number)
    user.must_queue, user.pending_change_count = row[-2:]  # type: ignore[attr-defined]
    return user
