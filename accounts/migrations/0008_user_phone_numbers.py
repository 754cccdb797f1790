"""phoneNumbers become what the identity provider wrote, read back as written.

Each user's list is set to exactly what SCIM showed before: nothing written (None, the assigned
number shown as the work one) when they had no other number, else the assigned work number
followed by the others. Waiting changes that carried `other_phone_numbers` now carry the same
numbers as `phone_numbers` (with the work number they asked for first).
"""

from django.db import migrations, models


def _numbers_shown(user, number):
    if not user.other_phone_numbers:
        return None
    work = [{"value": number, "type": "work", "primary": True}] if number else []
    return work + list(user.other_phone_numbers)


def forwards(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    PhoneNumber = apps.get_model("offices", "PhoneNumber")
    PendingChange = apps.get_model("approvals", "PendingChange")
    users = User.objects.exclude(other_phone_numbers=[]).only("other_phone_numbers")
    for user in users.iterator(chunk_size=2000):
        number = (
            PhoneNumber.objects.filter(assigned_user_id=user.pk)
            .values_list("number", flat=True)
            .first()
        )
        user.phone_numbers = _numbers_shown(user, number)
        user.save(update_fields=["phone_numbers"])
    for change in PendingChange.objects.filter(changes__has_key="other_phone_numbers"):
        others = change.changes.pop("other_phone_numbers") or []
        work = change.changes.get("work_phone")
        change.changes["phone_numbers"] = [
            *([{"value": work, "type": "work"}] if work else []),
            *others,
        ]
        change.save(update_fields=["changes"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_user_company_pages"),
        ("approvals", "0001_initial"),
        ("offices", "0002_office_external_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="phone_numbers",
            field=models.JSONField(blank=True, default=None, null=True),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RemoveField(model_name="user", name="other_phone_numbers"),
    ]
