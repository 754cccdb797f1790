"""`LicenseSeats.used`, kept by the database: triggers on the user table add one to the row of
(company, license type) when a user starts holding a seat — active, with that license type — and
take one when they stop (suspended, another type, no type, deleted). Any write counts, the ORM's
bulk updates and deletes included, so the number cannot drift from the users.

Installed, and `used` recounted, after every `migrate` (`install`, connected in apps.py): SQLite
rebuilds a table to alter it and drops its triggers then, so a later migration of the user table
must not lose them. The recount holds the user table against writes on PostgreSQL while it runs.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from accounts.db_triggers import drop_triggers, install_triggers
from accounts.models import LicenseSeats, User, UserStatus

_NAMES = {
    "seats": LicenseSeats._meta.db_table,
    "users": User._meta.db_table,
    "active": UserStatus.ACTIVE.value,
}

# PostgreSQL: inserts and deletes are counted once per statement, over the statement's rows
# (transition tables). Counted per row, a bulk insert or delete updated one seat row once per
# user, and PostgreSQL slows down quadratically on many updates of one row in one transaction:
# deleting a company's 25,000 licensed users took 23 s, 100,000 would take minutes. An UPDATE is
# counted per row, and only when status, license type or company changed.
# (SQLite has only row triggers, without that slowdown, and needs no lock order: it lets one
# writer at a time in.)
_POSTGRESQL = [
    "DROP TRIGGER IF EXISTS {users}_seats_used_insert_delete ON {users}",  # the row trigger before
    *(
        # One function per event, over the statement's rows: `inserted` add, `deleted` take.
        f"""
        CREATE OR REPLACE FUNCTION {{users}}_seats_{rows}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE {{seats}} SET used = GREATEST(used {sign} counted.n, 0)
            FROM (SELECT company_id, license_type, COUNT(*) AS n FROM {rows}
                  WHERE status = '{{active}}' AND license_type <> ''
                  GROUP BY company_id, license_type) counted
            WHERE {{seats}}.company_id = counted.company_id
              AND {{seats}}.license_type = counted.license_type;
            RETURN NULL;
        END
        $$
        """  # noqa: S608 (constants: the transition table and a sign)
        for rows, sign in (("inserted", "+"), ("deleted", "-"))
    ),
    """
    CREATE OR REPLACE FUNCTION {users}_seats_used() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status = '{active}' AND OLD.license_type <> ''
           AND NEW.status = '{active}' AND NEW.license_type <> '' THEN
            -- A switch changes two rows: lock them in one order, so talk → sales and
            -- sales → talk at once wait for each other instead of deadlocking.
            PERFORM 1 FROM {seats}
            WHERE (company_id, license_type) IN ((OLD.company_id, OLD.license_type),
                                                 (NEW.company_id, NEW.license_type))
            ORDER BY company_id, license_type FOR UPDATE;
        END IF;
        IF OLD.status = '{active}' AND OLD.license_type <> '' THEN
            UPDATE {seats} SET used = GREATEST(used - 1, 0)
            WHERE company_id = OLD.company_id AND license_type = OLD.license_type;
        END IF;
        IF NEW.status = '{active}' AND NEW.license_type <> '' THEN
            UPDATE {seats} SET used = used + 1
            WHERE company_id = NEW.company_id AND license_type = NEW.license_type;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE OR REPLACE TRIGGER {users}_seats_used_insert AFTER INSERT ON {users}
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION {users}_seats_inserted()
    """,
    """
    CREATE OR REPLACE TRIGGER {users}_seats_used_delete AFTER DELETE ON {users}
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION {users}_seats_deleted()
    """,
    """
    CREATE OR REPLACE TRIGGER {users}_seats_used_update
    AFTER UPDATE OF status, license_type, company_id ON {users} FOR EACH ROW
    WHEN ((OLD.status, OLD.license_type, OLD.company_id)
          IS DISTINCT FROM (NEW.status, NEW.license_type, NEW.company_id))
    EXECUTE FUNCTION {users}_seats_used()
    """,
]

_SQLITE = [
    "DROP TRIGGER IF EXISTS {users}_seats_used_insert",
    "DROP TRIGGER IF EXISTS {users}_seats_used_delete",
    "DROP TRIGGER IF EXISTS {users}_seats_used_update",
    """
    CREATE TRIGGER {users}_seats_used_insert AFTER INSERT ON {users}
    WHEN NEW.status = '{active}' AND NEW.license_type <> ''
    BEGIN
        UPDATE {seats} SET used = used + 1
        WHERE company_id = NEW.company_id AND license_type = NEW.license_type;
    END
    """,
    """
    CREATE TRIGGER {users}_seats_used_delete AFTER DELETE ON {users}
    WHEN OLD.status = '{active}' AND OLD.license_type <> ''
    BEGIN
        UPDATE {seats} SET used = max(used - 1, 0)
        WHERE company_id = OLD.company_id AND license_type = OLD.license_type;
    END
    """,
    """
    CREATE TRIGGER {users}_seats_used_update
    AFTER UPDATE OF status, license_type, company_id ON {users}
    BEGIN
        UPDATE {seats} SET used = max(used - 1, 0)
        WHERE OLD.status = '{active}' AND OLD.license_type <> ''
          AND company_id = OLD.company_id AND license_type = OLD.license_type;
        UPDATE {seats} SET used = used + 1
        WHERE NEW.status = '{active}' AND NEW.license_type <> ''
          AND company_id = NEW.company_id AND license_type = NEW.license_type;
    END
    """,
]

_RECOUNT = """
    UPDATE {seats} SET used = (
        SELECT COUNT(*) FROM {users} u
        WHERE u.company_id = {seats}.company_id AND u.license_type = {seats}.license_type
          AND u.status = '{active}'
    )
"""


def install(using: str = "default", **_signal: Any) -> None:
    """Create (or replace) the triggers and recount `used` from the users."""
    install_triggers(
        using,
        tables=[_NAMES["users"], _NAMES["seats"]],
        postgresql=[statement.format(**_NAMES) for statement in _POSTGRESQL],
        sqlite=[statement.format(**_NAMES) for statement in _SQLITE],
        recount=[_RECOUNT.format(**_NAMES)],
    )


def uninstall(using: str) -> None:
    """Drop the triggers: for migrating back to before `used` (migration 0009)."""
    users = _NAMES["users"]
    drop_triggers(
        using,
        users,
        [f"{users}_seats_used_{t}" for t in ("insert", "delete", "update", "insert_delete")],
    )


def recount(license_seats: LicenseSeats) -> None:
    """`used` of one row from its users: for a row made after its users (the triggers only
    count into rows that exist). Call it with the row locked."""
    with connections[LicenseSeats.objects.db].cursor() as cursor:
        cursor.execute(_RECOUNT.format(**_NAMES) + " WHERE id = %s", [license_seats.pk])
    license_seats.refresh_from_db(fields=["used"])
