"""accounts 0008: phoneNumbers become what the identity provider wrote. Nothing is lost: each
user reads back what SCIM showed before, and waiting changes keep their numbers. accounts 0011:
the numbers written become searchable rows."""

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(accounts_migration):
    """Every app at its latest migration but accounts, at `accounts_migration`."""
    executor = MigrationExecutor(connection)
    targets = [
        (app, name) for app, name in executor.loader.graph.leaf_nodes() if app != "accounts"
    ] + [("accounts", accounts_migration)]
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def migrate_to_the_latest():
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    # As `migrate` ends: the counting triggers migrating back dropped are installed again.
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)


@pytest.mark.django_db(transaction=True)
def test_users_and_waiting_changes_keep_their_phone_numbers():
    apps = migrate("0007_user_company_pages")
    try:
        company = apps.get_model("accounts", "Company").objects.create(name="Acme", slug="acme")
        User = apps.get_model("accounts", "User")

        def user(email, others):
            return User.objects.create(company=company, email=email, other_phone_numbers=others)

        mobile = {"value": "+1 555 0100", "type": "mobile"}
        with_line = user("ann@acme.example", [mobile])
        without_line = user("bob@acme.example", [mobile])
        nothing_written = user("cy@acme.example", [])
        apps.get_model("offices", "PhoneNumber").objects.create(
            company=company, number="+14155550101", country="US", assigned_user=with_line
        )
        change = apps.get_model("approvals", "PendingChange").objects.create(
            company=company,
            operation="update",
            user=with_line,
            changes={
                "title": "Lead",
                "work_phone": "+14155550102",
                "other_phone_numbers": [mobile],
            },
        )

        apps = migrate("0008_user_phone_numbers")

        User = apps.get_model("accounts", "User")
        assert User.objects.get(pk=with_line.pk).phone_numbers == [
            {"value": "+14155550101", "type": "work", "primary": True},
            mobile,
        ]
        assert User.objects.get(pk=without_line.pk).phone_numbers == [mobile]
        assert User.objects.get(pk=nothing_written.pk).phone_numbers is None
        waiting = apps.get_model("approvals", "PendingChange").objects.get(pk=change.pk)
        assert waiting.changes == {
            "title": "Lead",
            "work_phone": "+14155550102",
            "phone_numbers": [{"value": "+14155550102", "type": "work"}, mobile],
        }
    finally:
        migrate_to_the_latest()


@pytest.mark.django_db(transaction=True)
def test_the_numbers_written_before_0011_are_searchable_after_it():
    apps = migrate("0010_usercount")
    try:
        company = apps.get_model("accounts", "Company").objects.create(name="Acme", slug="acme")
        User = apps.get_model("accounts", "User")
        mobile = {"value": "Tel:+1 555 0100", "type": "mobile", "primary": True}
        written = User.objects.create(
            company=company, email="ann@acme.example", phone_numbers=[mobile, {"value": "5"}]
        )
        User.objects.create(company=company, email="bob@acme.example", phone_numbers=None)
        User.objects.create(company=company, email="cy@acme.example", phone_numbers=[])

        apps = migrate("0011_user_phone_number")

        rows = apps.get_model("accounts", "UserPhoneNumber").objects.values_list(
            "company_id", "user_id", "value_lower", "type", "primary"
        )
        assert sorted(rows) == [
            (company.pk, written.pk, "5", "", False),
            (company.pk, written.pk, "tel:+1 555 0100", "mobile", True),
        ]
    finally:
        migrate_to_the_latest()
