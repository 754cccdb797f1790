from django.db import migrations, models


def drop_triggers(apps, schema_editor):
    from accounts import seats_used

    seats_used.uninstall(schema_editor.connection.alias)


class Migration(migrations.Migration):
    """`used` is filled, and kept, by the triggers accounts/seats_used.py installs after migrate;
    migrating back drops the triggers before the column."""

    dependencies = [
        ("accounts", "0008_user_phone_numbers"),
    ]

    operations = [
        migrations.AddField(
            model_name="licenseseats",
            name="used",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_triggers),
    ]
