"""Fixed hot-path statements, built once from the models' own table and column names.

The ORM compiles every query anew, and for the SCIM hot paths that costs more than running
them (a free-number claim: 1.7 ms of Python for a 0.05 ms query). A statement whose shape never
changes is built here once per database and kept; its values still pass through each field's
own conversions both ways (`get_db_prep_save` in, the backend's and the field's converters
out), so the rows are what the ORM would have written and read, on PostgreSQL and SQLite alike.

The pattern (offices/selectors.py: main_office is the smallest): a `@cache`d builder per
statement and database returns its SQL, names from `column()`, and its `Selection`; each call
executes it and makes models of the row with `Selection.convert` and `instance()` (`joined()`
for a LEFT JOIN).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import DatabaseError, connections, router, transaction
from django.db.models import AutoField, Field, Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


def column(model: type[Model], name: str) -> Field:
    """The concrete field `name` of `model` (TypeError for a relation without a column)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a concrete column")
    return field


class Selection:
    """Columns selected under table aliases — `(alias, field)` pairs — as SQL, with the ORM's
    conversions of each column's values (JSON decoding, SQLite's dates)."""

    def __init__(self, using: str, columns: Sequence[tuple[str, Field]]) -> None:
        connection = connections[using]
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{table}.{quote(field.column)}" for table, field in columns)
        self.converters: list[tuple[int, list[Converter], Any]] = []
        for position, (table, field) in enumerate(columns):
            expression = field.get_col(table)
            found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
                connection
            )
            if found:
                self.converters.append((position, found, expression))

    def convert(self, using: str, values: Sequence[Any]) -> list[Any]:
        return self.convert_rows(using, [values])[0]

    def fetch_one(self, using: str, sql: str, params: Sequence[Any]) -> list[Any] | None:
        """Run `sql` (which selects these columns) and convert its row; None when none."""
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None else self.convert(using, row)

    def convert_rows(self, using: str, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        connection = connections[using]  # looked up once: a few µs each time
        converters = self.converters
        converted = []
        for values in rows:
            row = list(values)
            for position, functions, expression in converters:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
            converted.append(row)
        return converted


def instance(model: type[M], using: str, fields: Sequence[Field], values: Sequence[Any]) -> M:
    """A model instance from converted column values, as the ORM builds one from a row."""
    return model.from_db(using, [field.attname for field in fields], list(values))


def joined(model: type[M], using: str, fields: Sequence[Field], values: Sequence[Any]) -> M | None:
    """`instance()` of a LEFT JOINed model, None when no row was joined (`fields` start with its
    primary key, NULL then)."""
    return None if values[0] is None else instance(model, using, fields, values)


def _inserted_fields(model: type[Model]) -> list[Field]:
    return [f for f in model._meta.concrete_fields if not isinstance(f, AutoField)]


# Rows per INSERT statement: one statement per row count up to this is kept.
INSERT_CHUNK = 50


@lru_cache(maxsize=2 * INSERT_CHUNK)
def _insert_sql(using: str, model: type[Model], rows: int) -> str:
    quote = connections[using].ops.quote_name
    fields = _inserted_fields(model)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 (names from the model, quoted)
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([placeholders] * rows)} RETURNING {quote(model._meta.pk.column)}"
    )


def insert(objs: Sequence[Model]) -> None:
    """INSERT unsaved instances of one model and give each its primary key: what
    `bulk_create` writes (every field's `pre_save`, so auto_now(_add) too), without compiling
    the statement on every call. Sends no signals, like bulk_create (none is connected)."""
    if not objs:
        return
    model = type(objs[0])
    using = router.db_for_write(model)
    connection = connections[using]
    if not connection.features.can_return_rows_from_bulk_insert:  # SQLite before 3.35
        for obj in objs:
            obj.save(force_insert=True, using=using)
        return
    fields = _inserted_fields(model)
    for start in range(0, len(objs), INSERT_CHUNK):
        chunk = objs[start : start + INSERT_CHUNK]
        params: list[Any] = []
        for obj in chunk:
            # As save() and bulk_create() do: refuses an unsaved related object.
            obj._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]
            params.extend(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)
        # A failed statement ends a PostgreSQL transaction: as save() does, the atomic block
        # around is marked for rollback, so a caught error cannot be followed by more queries.
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(_insert_sql(using, model, len(chunk)), params)
            ids = [row[0] for row in cursor.fetchall()]
        for obj, pk in zip(chunk, ids, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = using


@lru_cache(maxsize=128)
def _update_sql(using: str, model: type[Model], columns: tuple[str, ...]) -> str:
    quote = connections[using].ops.quote_name
    assignments = ", ".join(f"{quote(name)} = %s" for name in columns)
    return (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "  # noqa: S608 (names from the model)
        f"WHERE {quote(model._meta.pk.column)} = %s"
    )


def update(obj: Model, field_names: Sequence[str]) -> None:
    """UPDATE the named fields of a saved instance by its primary key: what
    `save(update_fields=…)` writes (every field's `pre_save`, so auto_now too), without
    compiling the statement on every call. Sends no signals (none is connected); like save(),
    a row that no longer exists is a DatabaseError."""
    model = type(obj)
    using = obj._state.db or router.db_for_write(model)
    connection = connections[using]
    fields = [model._meta.get_field(name) for name in dict.fromkeys(field_names)]
    relations = [field for field in fields if field.is_relation]
    if relations:
        # As save() does: refuses an unsaved related object.
        obj._prepare_related_fields_for_save(operation_name="save", fields=relations)  # type: ignore[attr-defined]
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]  # type: ignore[union-attr]
    params.append(obj.pk)
    sql = _update_sql(using, model, tuple(f.column for f in fields))  # type: ignore[union-attr]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        updated = cursor.rowcount
    if not updated:
        raise DatabaseError("Save with update_fields did not affect any rows.")
