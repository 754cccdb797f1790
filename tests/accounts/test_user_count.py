"""`UserCount.users` is the number of the company's users, whatever writes them: the database's
triggers keep it (accounts/user_count.py), and a full /Users page reads it for totalResults
(tests/provisioning/test_scim_performance.py)."""

import pytest

from accounts import user_count
from accounts.audit import SYSTEM, Source
from accounts.models import User, UserCount
from members import services as members
from tests.accounts.factories import CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db


def kept(company):
    return UserCount.objects.filter(company=company).values_list("users", flat=True).first() or 0


def check(*companies):
    for company in companies:
        assert kept(company) == User.objects.filter(company=company).count(), company


def test_every_way_users_come_and_go_is_counted(company, other_company):
    check(company)
    users = UserFactory.create_batch(3, company=company)
    check(company, other_company)
    members.create_member_from_change(
        company=company,
        changes={"email": "new@acme.example", "scim_user_name": "new@acme.example"},
        actor=SYSTEM,
        source=Source.SCIM,
    )
    check(company)
    members.delete_member(user=users[0], actor=SYSTEM, source=Source.SCIM)
    check(company)
    # Writes that go around the services are counted too: bulk inserts and deletes, and a
    # user moved to another company.
    User.objects.bulk_create(
        User(company=company, email=f"bulk{i}@acme.example") for i in range(250)
    )
    check(company)
    User.objects.filter(pk=users[1].pk).update(company=other_company)
    check(company, other_company)
    User.objects.filter(company=company, email__startswith="bulk").delete()
    check(company, other_company)
    assert kept(company) == 2


def test_platform_operators_count_for_no_company(company):
    User.objects.create(email="operator@switchboard.example", company=None, is_superuser=True)
    UserFactory(company=company)
    assert sum(UserCount.objects.values_list("users", flat=True)) == 1


def test_a_deleted_company_leaves_no_count():
    company = CompanyFactory(slug="gone")
    UserFactory.create_batch(2, company=company)
    company.delete()
    assert not UserCount.objects.exists()


def test_install_recounts_what_the_triggers_missed(company):
    UserFactory.create_batch(2, company=company)
    UserCount.objects.filter(company=company).update(users=99)  # drifted, say by hand
    user_count.install()
    check(company)
