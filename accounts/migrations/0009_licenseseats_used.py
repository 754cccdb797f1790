from django.db import migrations, models


class Migration(migrations.Migration):
    """`used` is filled, and kept, by the triggers accounts/seats_used.py installs after migrate."""

    dependencies = [
        ("accounts", "0008_user_phone_numbers"),
    ]

    operations = [
        migrations.AddField(
            model_name="licenseseats",
            name="used",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
