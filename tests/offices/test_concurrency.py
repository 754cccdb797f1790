"""Concurrency on PostgreSQL for real: each thread has its own connection and transaction."""

import threading

import pytest
from django.db import connection

from accounts.audit import SYSTEM, Source
from accounts.errors import DomainError
from accounts.models import User
from accounts.selectors import license_usage
from offices import services
from offices.models import PhoneNumber
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

# serialized_rollback: the flush after a transactional test would otherwise wipe the area codes
# the data migration loaded, for every test that runs after this one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 20
ROUNDS = 5


def run_together(work, items):
    """Start `work(item)` in one thread per item, all released at once; collect outcomes."""
    barrier = threading.Barrier(len(items))
    outcomes = [None] * len(items)

    def run(index, item):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", work(item))
        except DomainError as error:
            outcomes[index] = ("refused", error)
        except Exception as error:  # surfaced by the assertions below
            outcomes[index] = ("crashed", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, item)) for i, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_license_assignments_never_overbook(company):
    company.license_seats.filter(license_type="talk").update(seats=10)
    users = UserFactory.create_batch(THREADS, company=company)

    outcomes = run_together(
        lambda user: services.assign_license(
            user=user, license_type="talk", actor=SYSTEM, source=Source.SCIM
        ),
        users,
    )

    assert not [o for o in outcomes if o[0] == "crashed"], outcomes
    refused = [error for kind, error in outcomes if kind == "refused"]
    assert sum(kind == "ok" for kind, _ in outcomes) == 10
    assert len(refused) == 10
    assert all(error.code == "no_free_seats" for error in refused)
    assert all("No free 'Talk' licenses: 10 of 10 in use" in error.message for error in refused)
    assert license_usage(company)["talk"] == (10, 10)
    assert User.objects.filter(company=company, license_type="talk").count() == 10


def test_concurrent_number_requests_never_share_a_number(company):
    office = OfficeFactory(company=company, name="San Francisco", is_main=True)
    pool = [
        PhoneNumberFactory(company=company, office=office, number=f"+1415555{n:04d}")
        for n in range(100, 110)
    ]
    users = UserFactory.create_batch(THREADS, company=company, office=office, license_type="talk")

    outcomes = run_together(
        lambda user: services.assign_number(
            user=user, area_code="415", actor=SYSTEM, source=Source.SCIM
        ),
        users,
    )

    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    given = [number.pk for _, number in outcomes if number is not None]
    assert len(given) == 10
    assert len(set(given)) == 10
    assert sorted(given) == sorted(n.pk for n in pool)
    holders = PhoneNumber.objects.filter(company=company).values_list("assigned_user", flat=True)
    assert len(set(holders)) == 10
    assert None not in set(holders)


def test_opposite_license_switches_wait_for_each_other_instead_of_deadlocking(company):
    """A switch updates the seat rows of both types (accounts/seats_used.py): talk → sales and
    sales → talk at once must take the two rows in one order, or PostgreSQL aborts one of them
    as a deadlock — a 500 to the client."""
    company.license_seats.update(seats=THREADS)
    users = UserFactory.create_batch(THREADS, company=company)
    for index, user in enumerate(users):
        services.assign_license(
            user=user,
            license_type="talk" if index % 2 else "sales",
            actor=SYSTEM,
            source=Source.ADMIN,
        )

    for _ in range(ROUNDS):  # a deadlock needs an unlucky interleaving: give it many chances
        outcomes = run_together(
            lambda user: services.assign_license(
                user=user,
                license_type="sales" if user.license_type == "talk" else "talk",
                actor=SYSTEM,
                source=Source.SCIM,
            ),
            [User.objects.get(pk=user.pk) for user in users],
        )
        assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert license_usage(company)["talk"] == (THREADS // 2, THREADS)
    assert license_usage(company)["sales"] == (THREADS // 2, THREADS)
