"""`UserCount.users`, kept by the database: triggers on the user table add one to the company's
row for each user inserted (creating the row) and take one for each user deleted, whatever
writes them — the ORM's bulk inserts and deletes, cascades and raw SQL included.

On PostgreSQL the insert and delete triggers run once per statement, over the statement's
rows (transition tables): a row trigger would update the company's one row once per user, and
PostgreSQL slows down quadratically on thousands of updates of one row in one transaction
(20,000 users in one bulk insert took 6.4 s). A user moved to another company (nothing does
that today) is counted by a row trigger. SQLite has only row triggers, and no such slowdown.

Installed, and the rows recounted, after every `migrate` (`install`, connected in apps.py), as
accounts/seats_used.py is, for the same reasons.
"""

from __future__ import annotations

from typing import Any

from accounts.db_triggers import drop_triggers, install_triggers
from accounts.models import User, UserCount

_NAMES = {"counts": UserCount._meta.db_table, "users": User._meta.db_table}

TRIGGERS = ("insert", "delete", "move")

_POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION {users}_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {counts} (company_id, users)
        SELECT company_id, COUNT(*) FROM inserted WHERE company_id IS NOT NULL
        GROUP BY company_id ORDER BY company_id
        ON CONFLICT (company_id) DO UPDATE SET users = {counts}.users + EXCLUDED.users;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION {users}_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {counts} SET users = GREATEST(users - deleted.n, 0)
        FROM (SELECT company_id, COUNT(*) AS n FROM deleted GROUP BY company_id) deleted
        WHERE {counts}.company_id = deleted.company_id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION {users}_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.company_id IS NOT NULL THEN
            UPDATE {counts} SET users = GREATEST(users - 1, 0) WHERE company_id = OLD.company_id;
        END IF;
        IF NEW.company_id IS NOT NULL THEN
            INSERT INTO {counts} (company_id, users) VALUES (NEW.company_id, 1)
            ON CONFLICT (company_id) DO UPDATE SET users = {counts}.users + 1;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE OR REPLACE TRIGGER {users}_count_insert AFTER INSERT ON {users}
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION {users}_count_inserted()
    """,
    """
    CREATE OR REPLACE TRIGGER {users}_count_delete AFTER DELETE ON {users}
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION {users}_count_deleted()
    """,
    """
    CREATE OR REPLACE TRIGGER {users}_count_move AFTER UPDATE OF company_id ON {users}
    FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id)
    EXECUTE FUNCTION {users}_count_moved()
    """,
]

_SQLITE = [
    "DROP TRIGGER IF EXISTS {users}_count_insert",
    "DROP TRIGGER IF EXISTS {users}_count_delete",
    "DROP TRIGGER IF EXISTS {users}_count_move",
    """
    CREATE TRIGGER {users}_count_insert AFTER INSERT ON {users}
    WHEN NEW.company_id IS NOT NULL
    BEGIN
        INSERT INTO {counts} (company_id, users) VALUES (NEW.company_id, 1)
        ON CONFLICT (company_id) DO UPDATE SET users = users + 1;
    END
    """,
    """
    CREATE TRIGGER {users}_count_delete AFTER DELETE ON {users}
    WHEN OLD.company_id IS NOT NULL
    BEGIN
        UPDATE {counts} SET users = max(users - 1, 0) WHERE company_id = OLD.company_id;
    END
    """,
    """
    CREATE TRIGGER {users}_count_move AFTER UPDATE OF company_id ON {users}
    WHEN OLD.company_id IS NOT NEW.company_id
    BEGIN
        UPDATE {counts} SET users = max(users - 1, 0) WHERE company_id = OLD.company_id;
        INSERT INTO {counts} (company_id, users) SELECT NEW.company_id, 1
        WHERE NEW.company_id IS NOT NULL
        ON CONFLICT (company_id) DO UPDATE SET users = users + 1;
    END
    """,
]

_RECOUNT = [
    "DELETE FROM {counts}",
    """
    INSERT INTO {counts} (company_id, users)
    SELECT company_id, COUNT(*) FROM {users} WHERE company_id IS NOT NULL GROUP BY company_id
    """,
]


def uninstall(using: str) -> None:
    """Drop the triggers: for migrating back to before the counts table (migration 0010)."""
    drop_triggers(using, _NAMES["users"], [f"{_NAMES['users']}_count_{t}" for t in TRIGGERS])


def install(using: str = "default", **_signal: Any) -> None:
    """Create (or replace) the triggers and recount every company's users."""
    install_triggers(
        using,
        tables=[_NAMES["users"], _NAMES["counts"]],
        postgresql=[s.format(**_NAMES) for s in _POSTGRESQL],
        sqlite=[s.format(**_NAMES) for s in _SQLITE],
        recount=[s.format(**_NAMES) for s in _RECOUNT],
    )
