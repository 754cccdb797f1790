"""core.sql: statements built once write and read what the ORM would."""

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.db.transaction import TransactionManagementError

from accounts.models import AuditEvent, User, UserEmail
from core import sql

pytestmark = pytest.mark.django_db


def test_insert_writes_what_bulk_create_writes_and_gives_each_row_its_id(
    company, django_assert_num_queries
):
    events = [
        AuditEvent(
            company=company,
            action=f"test.{i}",
            actor_kind="system",
            actor_label="test",
            source="cli",
            client_ip="2001:db8::1" if i else None,
            after={"i": i, "nested": {"list": [1, "two"]}} if i % 2 else None,
        )
        for i in range(sql.INSERT_CHUNK + 3)  # two statements
    ]
    with django_assert_num_queries(2):
        sql.insert(events)
    by_id = {event.pk: event for event in events}
    stored = list(AuditEvent.objects.filter(pk__in=by_id).order_by("pk"))
    assert [event.action for event in stored] == [event.action for event in events]
    for row in stored:
        written = by_id[row.pk]
        assert not written._state.adding
        assert written.created_at is not None  # auto_now_add, as on save()
        for field in AuditEvent._meta.concrete_fields:
            assert getattr(row, field.attname) == getattr(written, field.attname), field.name
    sql.insert([])  # nothing to write: no statement


def test_insert_refuses_an_unsaved_related_object_and_ends_the_transaction(company):
    user = User(company=company, email="unsaved@acme.example")
    with pytest.raises(ValueError, match="unsaved related object"):
        sql.insert([UserEmail(company=company, user=user, value_lower="unsaved@acme.example")])
    taken = User.objects.create(company=company, email="taken@acme.example")
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            sql.insert([User(company=company, email=taken.email)])
        with pytest.raises(TransactionManagementError):
            User.objects.count()  # the failed INSERT marked the block for rollback


def test_a_selection_converts_columns_as_the_orm_does(company):
    from django.db import connection

    user = User.objects.create(
        company=company,
        email="json@acme.example",
        email_addresses=[{"value": "json@acme.example", "primary": True}],
    )
    fields = [sql.column(User, name) for name in ("id", "email_addresses", "created_at")]
    selection = sql.Selection("default", [("u", field) for field in fields])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selection.sql} FROM accounts_user u WHERE u.id = %s", [user.pk])  # noqa: S608
        row = selection.convert("default", cursor.fetchone())
    loaded = sql.instance(User, "default", fields, row)
    assert loaded.email_addresses == [{"value": "json@acme.example", "primary": True}]
    assert loaded.created_at == User.objects.get(pk=user.pk).created_at
    with pytest.raises(TypeError):
        sql.column(User, "reports")  # a relation without a column of this table


def test_without_returning_rows_each_row_is_saved(company, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection.features, "can_return_rows_from_bulk_insert", False)
    users = [User(company=company, email=f"old-sqlite{i}@acme.example") for i in range(2)]
    sql.insert(users)
    assert [user.pk for user in users] == list(
        User.objects.filter(email__startswith="old-sqlite")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def test_update_writes_what_save_with_update_fields_writes(company, django_assert_num_queries):
    user = User.objects.create(company=company, email="update@acme.example", title="Engineer")
    stamped = user.updated_at
    user.title = "Lead"
    user.family_name = "Not written"  # not named: stays as stored
    user.email_addresses = [{"value": "update@acme.example", "type": "work"}]
    with django_assert_num_queries(1):
        sql.update(user, ["title", "email_addresses", "updated_at", "title"])
    stored = User.objects.get(pk=user.pk)
    assert (stored.title, stored.family_name) == ("Lead", "")
    assert stored.email_addresses == [{"value": "update@acme.example", "type": "work"}]
    assert stored.updated_at == user.updated_at > stamped  # auto_now, as on save()


def test_update_refuses_a_missing_row_an_unsaved_relation_and_a_clash(company):
    gone = User.objects.create(company=company, email="gone@acme.example")
    User.objects.filter(pk=gone.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        sql.update(gone, ["title"])
    user = User.objects.create(company=company, email="managed@acme.example")
    user.manager = User(company=company, email="unsaved@acme.example")
    with pytest.raises(ValueError, match="unsaved related object"):
        sql.update(user, ["manager"])
    taken = User.objects.create(company=company, email="taken@acme.example")
    user.email = taken.email
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            sql.update(user, ["email"])
        with pytest.raises(TransactionManagementError):
            User.objects.count()  # the failed UPDATE marked the block for rollback
