import django.db.models.deletion
from django.db import migrations, models


def drop_triggers(apps, schema_editor):
    from accounts import user_count

    user_count.uninstall(schema_editor.connection.alias)


class Migration(migrations.Migration):
    """The rows are filled, and kept, by the triggers accounts/user_count.py installs after
    migrate; migrating back drops the triggers before the table."""

    dependencies = [
        ("accounts", "0009_licenseseats_used"),
    ]

    operations = [
        migrations.CreateModel(
            name="UserCount",
            fields=[
                (
                    "company",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="user_count",
                        serialize=False,
                        to="accounts.company",
                    ),
                ),
                ("users", models.PositiveIntegerField(default=0, editable=False)),
            ],
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_triggers),
    ]
