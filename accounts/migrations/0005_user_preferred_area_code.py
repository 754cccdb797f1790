from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def from_held_numbers(apps, schema_editor):
    """SCIM showed the area code of the number held: keep showing it for those users."""
    User = apps.get_model("accounts", "User")
    PhoneNumber = apps.get_model("offices", "PhoneNumber")
    held = PhoneNumber.objects.filter(assigned_user=OuterRef("pk"), area_code__isnull=False)
    User.objects.filter(phone_number__area_code__isnull=False).update(
        preferred_area_code=Subquery(held.values("area_code__code")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_user_email_addresses_name_formatted"),
        ("offices", "0002_office_external_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="preferred_area_code",
            field=models.CharField(blank=True, max_length=8),
        ),
        migrations.RunPython(from_held_numbers, migrations.RunPython.noop),
    ]
