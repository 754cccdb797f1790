"""`LicenseSeats.used` is the count of active users holding the type, whatever writes them:
the database's triggers keep it (accounts/seats_used.py), on PostgreSQL and on SQLite."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from accounts.audit import SYSTEM, Source
from accounts.errors import DomainError
from accounts.models import LicenseSeats, User, UserStatus
from members import services as members
from offices import services as offices
from tests.accounts.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parents[2]


def used(company):
    return dict(LicenseSeats.objects.filter(company=company).values_list("license_type", "used"))


def counted(company):
    """What the seat check used to count: active users per license type."""
    found = {row.license_type: 0 for row in LicenseSeats.objects.filter(company=company)}
    for user in User.objects.filter(company=company, status=UserStatus.ACTIVE):
        if user.license_type:
            found[user.license_type] += 1
    return found


def test_every_way_a_user_holds_or_frees_a_seat_is_counted(company):
    def check():
        assert used(company) == counted(company)

    users = UserFactory.create_batch(4, company=company)
    check()  # no license yet: nothing held
    for user in users:
        offices.assign_license(user=user, license_type="talk", actor=SYSTEM, source=Source.ADMIN)
    assert used(company)["talk"] == 4
    check()
    offices.assign_license(user=users[0], license_type="sales", actor=SYSTEM, source=Source.ADMIN)
    check()  # switched: one talk seat freed, one sales seat taken
    members.suspend_member(user=users[1], actor=SYSTEM, source=Source.SCIM)
    check()  # suspended: keeps the type, frees the seat
    members.reactivate_member(user=users[1], actor=SYSTEM, source=Source.SCIM)
    check()
    offices.release_license(user=users[2], actor=SYSTEM, source=Source.ADMIN)
    check()
    members.delete_member(user=users[3], actor=SYSTEM, source=Source.SCIM)
    check()
    # Writes that go around the services are counted too.
    User.objects.filter(pk=users[1].pk).update(status=UserStatus.SUSPENDED)
    check()
    User.objects.filter(pk=users[1].pk).update(status=UserStatus.ACTIVE)
    check()
    User.objects.filter(company=company).delete()
    check()
    assert used(company) == dict.fromkeys(used(company), 0)


def test_bulk_inserts_and_deletes_are_counted_per_type_and_company(company, other_company):
    User.objects.bulk_create(
        User(
            company=owner,
            email=f"bulk{i}@{owner.slug}.example",
            license_type=license_type,
            status=status,
        )
        for i, (owner, license_type, status) in enumerate(
            (owner, license_type, status)
            for owner in (company, other_company)
            for license_type in ("talk", "sales", "")
            for status in (UserStatus.ACTIVE, UserStatus.SUSPENDED, UserStatus.ACTIVE)
        )
    )
    assert used(company) == counted(company) == used(other_company)
    assert used(company)["talk"] == 2
    User.objects.filter(company=company, license_type="talk").delete()
    assert used(company) == counted(company)
    assert used(other_company) == counted(other_company)


def test_postgresql_counts_inserts_and_deletes_once_per_statement(db):
    """Per row, a bulk insert or delete of thousands of users updated one seat row thousands of
    times in one transaction, which PostgreSQL slows down on quadratically."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgtype & 1 FROM pg_trigger "  # bit 0: FOR EACH ROW
            "WHERE tgrelid = 'accounts_user'::regclass AND NOT tgisinternal"
        )
        per_row = dict(cursor.fetchall())
    assert per_row["accounts_user_seats_used_insert"] == 0
    assert per_row["accounts_user_seats_used_delete"] == 0
    assert per_row["accounts_user_count_insert"] == 0
    assert per_row["accounts_user_count_delete"] == 0
    assert "accounts_user_seats_used_insert_delete" not in per_row


def test_a_refused_seat_leaves_the_count_and_the_user_as_they_were(company):
    LicenseSeats.objects.filter(company=company, license_type="sales").update(seats=1)
    holder, other = UserFactory.create_batch(2, company=company)
    offices.assign_license(user=holder, license_type="sales", actor=SYSTEM, source=Source.ADMIN)
    offices.assign_license(user=other, license_type="talk", actor=SYSTEM, source=Source.ADMIN)

    with pytest.raises(DomainError, match="No free 'Sales' licenses: 1 of 1 in use") as caught:
        offices.assign_license(user=other, license_type="sales", actor=SYSTEM, source=Source.ADMIN)

    assert caught.value.code == "no_free_seats"
    assert User.objects.get(pk=other.pk).license_type == "talk"
    assert used(company) == counted(company)


def test_a_seat_row_made_after_its_users_starts_from_their_count(company):
    from accounts.services import set_license_seats

    user = UserFactory(company=company)
    offices.assign_license(user=user, license_type="talk", actor=SYSTEM, source=Source.ADMIN)
    LicenseSeats.objects.filter(company=company, license_type="talk").delete()

    row = set_license_seats(
        company=company, license_type="talk", seats=5, actor=SYSTEM, source=Source.ADMIN
    )

    assert (row.seats, row.used) == (5, 1)


@pytest.mark.slow
def test_sqlite_keeps_the_counts_after_every_migration(tmp_path):
    """`make run`'s database: SQLite drops a table's triggers when a migration rebuilds it, so
    they are installed after migrate; this runs every migration and then counts seats and
    users."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
    }
    script = """
from accounts.audit import SYSTEM, Source
from accounts.models import LicenseSeats, User, UserStatus
from accounts.services import create_company, set_license_seats
from members.services import create_member
from offices.services import assign_license
company = create_company(name="Acme", slug="acme", actor=SYSTEM, source=Source.CLI)
set_license_seats(company=company, license_type="talk", seats=1, actor=SYSTEM, source=Source.CLI)
one = create_member(company=company, email="one@acme.example", actor=SYSTEM, source=Source.CLI)
two = create_member(company=company, email="two@acme.example", actor=SYSTEM, source=Source.CLI)
assign_license(user=one, license_type="talk", actor=SYSTEM, source=Source.CLI)
try:
    assign_license(user=two, license_type="talk", actor=SYSTEM, source=Source.CLI)
except Exception as error:
    print("refused:", error)
print("used:", LicenseSeats.objects.get(company=company, license_type="talk").used)
User.objects.filter(pk=one.pk).update(status=UserStatus.SUSPENDED)
print("used:", LicenseSeats.objects.get(company=company, license_type="talk").used)
from accounts.models import UserCount
print("users:", UserCount.objects.get(company=company).users)
two.delete()
print("users:", UserCount.objects.get(company=company).users)
"""
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=BASE_DIR)  # noqa: S603 — ours
    out = subprocess.run(  # noqa: S603 — our own manage.py
        [*manage, "shell", "-c", script],
        env=env,
        check=True,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    ).stdout
    lines = out.splitlines()
    assert "refused: No free 'Talk' licenses: 1 of 1 in use" in out
    assert [line for line in lines if line.startswith("used: ")] == ["used: 1", "used: 0"]
    # The company's user count (accounts/user_count.py) is kept the same way.
    assert [line for line in lines if line.startswith("users: ")] == ["users: 2", "users: 1"]
