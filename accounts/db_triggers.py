"""Counting triggers on a table, installed after every `migrate` and dropped when migrating back
past the migration that made what they count: the shared steps of accounts/seats_used.py
(`LicenseSeats.used`) and accounts/user_count.py (`UserCount.users`)."""

from __future__ import annotations

from django.db import connections, transaction


def drop_triggers(using: str, table: str, names: list[str]) -> None:
    connection = connections[using]
    on = f" ON {table}" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}{on}")


def install_triggers(
    using: str, *, tables: list[str], postgresql: list[str], sqlite: list[str], recount: list[str]
) -> None:
    """Run the statements that (re)create counting triggers on `tables[0]`, then those that
    recount into the other tables, in one transaction; on PostgreSQL with `tables[0]` locked
    against writes, so that no row changes between the recount and the triggers taking over."""
    connection = connections[using]
    if not set(tables) <= set(connection.introspection.table_names()):
        return  # migrated back to before the counts
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {tables[0]} IN SHARE ROW EXCLUSIVE MODE")
        for statement in [*(postgresql if connection.vendor == "postgresql" else sqlite), *recount]:
            cursor.execute(statement)
