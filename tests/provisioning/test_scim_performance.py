"""Query budgets with real API keys, and the indexes the hot filters use (PostgreSQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User, UserEmail
from provisioning.scim import schema as s
from provisioning.scim.filters import parse_filter, to_q
from provisioning.scim.queries import USER_FILTERS, resolver
from provisioning.scim.selectors import user_rows, user_rows_statement
from tests.offices.factories import PhoneNumberFactory
from tests.provisioning.test_scim_users import CORE, ENTERPRISE, PATCH, SWITCHBOARD

pytestmark = pytest.mark.django_db

# Measured counts, savepoints included (a service nested in the request's transaction). Auth is no
# query: a request before measuring read the key (and stamped its last use, at most once a minute),
# and this process keeps it while no key, company or policy changes (apikeys/key_cache.py). The rest
# is the request's own work, the same whatever the page size. A user page in id order, and a
# userName eq filter, is one statement: the page's ids, their rows and a COUNT only when the page is
# full, else the total is known (provisioning/scim/selectors.py); GET by id is the one row. A write
# also asks the approval queue whether it must wait (a create: the company's policy, read with the
# API key; an update: the policy and the user's open changes, in the query that reads the user) and
# answers with the row it wrote. A create: office, INSERT, the rows the emails filters search,
# number claim + assignment, one audit INSERT, and last the seat check: one read of the seat row,
# locked (the database keeps the count of seats in use, accounts/seats_used.py). A PATCH (title,
# active:false): the request's transaction, the user read locked once with all the services and the
# answer need (provisioning/scim/selectors.py), the profile UPDATE, the number's release, the status
# UPDATE, one audit INSERT.
# A create asks once whether another company verified the email's domain (accounts.domains,
# through the partial unique index of verified domains): 10, not 9.
BUDGET = {"list": 1, "get": 1, "filter": 1, "create": 10, "patch": 7, "groups": 3}


def _explain(sql, params, options="COSTS OFF"):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def many(company, main_office):
    for i in range(60):
        PhoneNumberFactory(company=company, office=main_office, number=f"+1415555{i:04d}")
    return User.objects.bulk_create(
        User(
            company=company, email=f"p{i}@acme.example", scim_user_name=f"p{i}", office=main_office
        )
        for i in range(60)
    )


def test_list_get_and_filter_run_a_fixed_number_of_queries(
    scim, many, django_assert_max_num_queries
):
    scim.get("Users?count=1")  # reads the key and stamps its last use (once a minute)
    for count in (2, 60):
        with django_assert_max_num_queries(BUDGET["list"]):
            page = scim.get(f"Users?count={count}")
        assert page.body["itemsPerPage"] == count
    with django_assert_max_num_queries(BUDGET["get"]):
        assert scim.get(f"Users/{many[7].pk}").status_code == 200
    with django_assert_max_num_queries(BUDGET["filter"]):
        found = scim.get('Users?filter=userName eq "P7"')
    assert found.body["totalResults"] == 1
    for count in (1, 100):
        with django_assert_max_num_queries(BUDGET["groups"]):
            groups = scim.get(f"Groups?count={count}")
        assert groups.body["Resources"][0]["displayName"] == "HQ"
        assert len(groups.body["Resources"][0]["members"]) == 60


def test_create_and_patch_run_a_fixed_number_of_queries(scim, many, django_assert_max_num_queries):
    scim.get("Users?count=1")
    for i in range(2):
        with django_assert_max_num_queries(BUDGET["create"]):
            created = scim.post(
                "Users",
                {
                    "schemas": [CORE],
                    "userName": f"new{i}@acme.example",
                    "emails": [{"value": f"new{i}@acme.example", "primary": True}],
                    "name": {"givenName": "New", "familyName": str(i)},
                },
            )
        assert created.status_code == 201, created.body
        with django_assert_max_num_queries(BUDGET["patch"]):
            patched = scim.patch(
                f"Users/{created.body['id']}",
                {
                    "schemas": [PATCH],
                    "Operations": [
                        {"op": "replace", "path": "title", "value": "Lead"},
                        {"op": "replace", "path": "active", "value": False},
                    ],
                },
            )
        assert patched.status_code == 200, patched.body


def test_a_full_page_reads_the_kept_count_instead_of_counting_the_users(scim, many):
    with CaptureQueriesContext(connection) as queries:
        page = scim.get("Users?count=2")
    assert page.body["totalResults"] == 60
    counts_users = 'COUNT(*) FROM "ACCOUNTS_USER"'
    assert not [q["sql"] for q in queries if counts_users in q["sql"].upper()]
    # A page that ends the list tells its own size; one past the end still knows it.
    assert scim.get("Users?startIndex=55&count=10").body["totalResults"] == 60
    assert scim.get("Users?startIndex=500&count=10").body["totalResults"] == 60


FILTERS = [
    'userName eq "p4242"',
    'externalId eq "ext-4242"',
    'emails.value eq "p4242@acme.example"',
    'emails[type eq "work"].value eq "p4242@acme.example"',
    'emails eq "P4242@HOME.example"',
    'emails[type eq "home" and value eq "p4242@home.example"]',
]


@pytest.mark.parametrize("filter_text", FILTERS)
def test_hot_filters_use_indexes_at_ten_thousand_users(company, other_company, filter_text):
    users = User.objects.bulk_create(
        (
            User(
                company=company if i % 10 else other_company,
                email=f"p{i}@acme.example",
                scim_user_name=f"p{i}",
                external_id=f"ext-{i}",
            )
            for i in range(10_000)
        ),
        batch_size=2_000,
    )
    # What accounts.services writes with each user: the sign-in email and, here, a home one.
    UserEmail.objects.bulk_create(
        (
            UserEmail(company_id=user.company_id, user=user, value_lower=value, type=kind)
            for user in users
            for value, kind in (
                (user.email, "work"),
                (user.email.replace("acme", "home"), "home"),
            )
        ),
        batch_size=2_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("ANALYZE accounts_useremail")
    condition = to_q(parse_filter(filter_text), resolver(s.USER_TYPE, USER_FILTERS))
    queryset = User.objects.filter(company=company).filter(condition).order_by("pk")
    page = queryset.values_list("pk", flat=True)[:100]  # as UserEndpoint.page asks
    plan = page.explain()
    print(f"\n{filter_text}\n{plan}")
    assert "Index" in plan
    assert "Seq Scan on accounts_user" not in plan  # accounts_useremail included
    if filter_text.startswith("emails"):
        assert "Index Scan using user_email_company_value" in plan
    assert [u.email for u in queryset] == ["p4242@acme.example"]


def test_a_page_of_rows_is_read_by_index_probes_whatever_the_population(company, main_office):
    """selectors.user_rows: the office, number and manager of each of the page's users are
    looked up by index, per row: joined, the planner hashed every user of every company (as
    managers) to find those of 100 rows, from a few thousand users on."""
    users = User.objects.bulk_create(
        (
            User(company=company, email=f"p{i}@acme.example", office=main_office)
            for i in range(5_000)
        ),
        batch_size=2_500,
    )
    User.objects.filter(pk__in=[u.pk for u in users[1::2]]).update(manager=users[0])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("ANALYZE offices_phonenumber")
    ids = [u.pk for u in users[2_500:2_600]]
    plan = _explain(*user_rows_statement(company.pk, ids))
    print(plan)
    assert "Hash" not in plan
    assert plan.count("Index Scan using accounts_user_pkey on accounts_user") == 3  # manager
    rows = user_rows(company.pk, ids)
    assert [row.id for row in rows] == ids
    assert {row.manager_email for row in rows} == {None, "p0@acme.example"}
    assert {row.office_name for row in rows} == {"HQ"}


def _worker_with_manager(company, office, **fields):
    """A user with an office, a manager and a number of the office."""
    manager = User.objects.create(
        company=company, email="boss@acme.example", given_name="Ada", family_name="Boss"
    )
    user = User.objects.create(
        company=company,
        email="worker@acme.example",
        scim_user_name="worker",
        office=office,
        manager=manager,
        license_type="talk",
        preferred_area_code="415",
        **fields,
    )
    PhoneNumberFactory(company=company, office=office, number="+14155550123", assigned_user=user)
    return manager, user


def test_a_patch_answers_the_user_as_get_shows_it_reading_it_once(
    scim, company, main_office, django_assert_max_num_queries
):
    """The write reads the user, its office, manager and number (with its area code) in one
    locked query and answers from it: the same body GET shows, nothing loaded lazily."""
    manager, user = _worker_with_manager(company, main_office, managed_by="scim")
    scim.get("Users?count=1")  # reads the key and stamps its last use (once a minute)
    # The request's savepoint, the locked read, the UPDATE, the audit INSERT, release.
    with django_assert_max_num_queries(5):
        patched = scim.patch(
            f"Users/{user.pk}",
            {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "title", "value": "Lead"}],
            },
        )
    assert patched.status_code == 200, patched.body
    shown = scim.get(f"Users/{user.pk}")
    assert patched.body == shown.body
    assert patched["ETag"] == shown["ETag"]
    assert patched.body["phoneNumbers"][0]["value"] == "+14155550123"
    assert patched.body[ENTERPRISE]["manager"]["value"] == str(manager.pk)
    assert patched.body[SWITCHBOARD]["officeName"] == "HQ"
    assert patched.body["title"] == "Lead"


def test_user_name_lookup_by_its_own_query_finds_what_the_filter_finds(
    scim, company, other_company, main_office
):
    from provisioning.scim.selectors import user_page

    def user_ids_named(company_id, user_name, offset, limit):
        return [row.id for row in user_page(company_id, offset, limit, user_name=user_name)[0]]

    named = User.objects.create(company=company, email="a@acme.example", scim_user_name="Ann")
    # No userName: found by the sign-in email. Its email is another user's userName.
    by_email = User.objects.create(company=company, email="ANN@acme.example")
    taken = User.objects.create(
        company=company, email="b@acme.example", scim_user_name="ann@acme.example"
    )
    User.objects.create(company=other_company, email="ann@globex.example", scim_user_name="ANN")
    User.objects.create(company=company, email="ann2@acme.example", scim_user_name="Ann2")
    for asked in ("ann", "ANN", "ann@acme.example", "Ann@Acme.Example", "nobody", "ann2"):
        condition = to_q(
            parse_filter(f'userName eq "{asked}"'), resolver(s.USER_TYPE, USER_FILTERS)
        )
        expected = list(
            User.objects.filter(company=company)
            .filter(condition)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        assert user_ids_named(company.pk, asked, 0, 100) == expected, asked
    assert user_ids_named(company.pk, "ann", 0, 100) == [named.pk]
    both = 'userName eq "ann@acme.example"'  # a userName, and an email without one
    found = scim.get(f"Users?filter={both}")
    assert found.body["totalResults"] == 2
    assert [r["id"] for r in found.body["Resources"]] == [str(by_email.pk), str(taken.pk)]
    first = scim.get(f"Users?filter={both}&count=1")
    second = scim.get(f"Users?filter={both}&count=1&startIndex=2")
    assert first.body["totalResults"] == second.body["totalResults"] == 2  # counted: page full
    assert first.body["Resources"][0]["id"] == found.body["Resources"][0]["id"]
    assert second.body["Resources"][0]["id"] == found.body["Resources"][1]["id"]


def test_a_page_its_rows_and_its_count_are_one_statement_of_index_probes(company, main_office):
    """selectors.user_page: the page's ids, then their rows by primary key (never merged with a
    scan of the users before them), and the company's users counted only for a full page."""
    from provisioning.scim.selectors import user_page, user_page_statement

    users = User.objects.bulk_create(
        (
            User(company=company, email=f"p{i}@acme.example", office=main_office)
            for i in range(5_000)
        ),
        batch_size=2_500,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
    plans = []
    for offset in (2_500, 4_950):  # full, then partial
        page = user_page_statement(company.pk, offset, 100, after=None, user_name=None)
        plans.append(_explain(*page, options="ANALYZE, COSTS OFF"))
    print(plans[0])
    for plan in plans:
        assert "Hash" not in plan
        assert "Merge" not in plan
        assert "Index Cond: (id = ANY" in plan
    full_count, partial_count = (plan.split("InitPlan")[1].splitlines()[1] for plan in plans)
    assert "never executed" not in full_count
    assert "never executed" in partial_count
    rows, total = user_page(company.pk, 2_500, 100)
    assert [row.id for row in rows] == [u.pk for u in users[2_500:2_600]]
    assert total == 5_000
    rows, total = user_page(company.pk, 4_950, 100)
    assert [row.id for row in rows] == [u.pk for u in users[4_950:]]
    assert total == 5_000
    assert user_page(company.pk, 6_000, 100) == ([], None)
    assert user_page(company.pk, 0, 100, after=users[-1].pk) == ([], None)


def _loaded(instance):
    """A model instance's field values and the related objects cached on it, as plain data."""
    if instance is None:
        return None
    fields = {key: value for key, value in vars(instance).items() if key != "_state"}
    cached = {
        name: related.pk if related is not None else None
        for name, related in instance._state.fields_cache.items()
    }
    return fields, cached, instance._state.adding, instance._state.db


@pytest.mark.parametrize("joined", [True, False], ids=["office-manager-number", "alone"])
def test_the_locked_user_is_the_user_the_orm_loads(company, main_office, joined):
    """selectors.user_to_write builds the user and its office, manager, number and area code
    from one written statement: each the same instance, with the same related objects cached,
    as the ORM's select_related query builds them."""
    from django.db import transaction

    from approvals.models import OPEN_STATUSES
    from provisioning.scim.selectors import user_to_write
    from tests.approvals.factories import queue_update

    if joined:
        _manager, user = _worker_with_manager(
            company, main_office, email_addresses=[{"value": "h@example.org", "type": "home"}]
        )
        queue_update(company, user, {"title": "Chief"})
    else:
        user = User.objects.create(company=company, email="alone@acme.example")
    manager_shown = {"id", "email", "given_name", "family_name"}
    deferred = [
        f"manager__{f.name}" for f in User._meta.concrete_fields if f.name not in manager_shown
    ]
    with transaction.atomic():
        expected = (
            User.objects.select_related("office", "manager", "phone_number__area_code")
            .defer(*deferred)
            .get(pk=user.pk)
        )
        expected.pending_change_count = user.pending_changes.filter(
            status__in=OPEN_STATUSES
        ).count()
        locked = user_to_write(company, user.pk)
        assert user_to_write(company, 0) is None
    assert locked is not None
    assert locked.pending_change_count == expected.pending_change_count == (1 if joined else 0)
    expected.company = company
    assert _loaded(locked) == _loaded(expected)
    for name in ("office", "manager"):
        assert _loaded(getattr(locked, name)) == _loaded(getattr(expected, name))
    number = getattr(locked, "phone_number", None)
    assert _loaded(number) == _loaded(getattr(expected, "phone_number", None))
    if joined:
        assert number is not None
        assert number.area_code is not None
        assert _loaded(number.area_code) == _loaded(expected.phone_number.area_code)
        assert locked.manager.get_deferred_fields() == expected.manager.get_deferred_fields()


def test_a_row_read_by_its_statement_is_the_row_of_the_loaded_user(company, main_office):
    """selectors.user_rows reads the columns itself: each converted as the ORM converts it
    (JSON, timestamps), and the related columns, the same as the user loaded with the ORM."""
    from approvals.models import Operation
    from provisioning.scim.rendering import user_row
    from provisioning.scim.selectors import user_page
    from tests.approvals.factories import queue_update

    manager, user = _worker_with_manager(
        company,
        main_office,
        title="Lead",
        email_addresses=[{"value": "home@example.org", "type": "home"}],
        phone_numbers=[{"value": "+14155550100", "type": "mobile"}],
    )
    queue_update(company, user, {"title": "Chief"})
    loaded = User.objects.select_related("office", "manager", "phone_number").get(pk=user.pk)
    expected = user_row(loaded, user.pending_changes.filter(operation=Operation.UPDATE).count())
    assert expected.pending_changes == 1
    assert expected.created_at.tzinfo is not None
    assert user_rows(company.pk, [manager.pk, user.pk])[1] == expected
    rows, size = user_page(company.pk, 0, 100, user_name="WORKER")
    assert rows == [expected]
    assert size == 1
