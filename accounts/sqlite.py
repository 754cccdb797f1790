"""The SQLite quickstart's LOWER(), Unicode like PostgreSQL's.

SQLite's built-in LOWER() folds ASCII letters only, so `name.familyName eq "ÑANDÚ"` did not find
"ñandú" there, and the Lower() unique indexes (emails, userNames, office names) let "ÉVE@…" in
beside "éve@…". Every case-insensitive comparison goes through LOWER() on both sides
(accounts.models.lowered_by_database), so replacing the function replaces the behaviour.
"""

from __future__ import annotations

from typing import Any


def _lower(value: Any) -> Any:
    if value is None or isinstance(value, bytes):
        return value
    value = str(value)  # as SQLite's LOWER() reads a number: its text
    if "Σ" in value:
        # PostgreSQL lowers each letter alone (Σ is σ); Python lowers a final Σ to ς.
        return "".join(letter.lower() for letter in value)
    return value.lower()


def unicode_lower(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: on SQLite, LOWER() is Python's (deterministic, so the
    expression indexes may use it)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("lower", 1, _lower, deterministic=True)
