import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def emails_of(user):
    """User.all_emails() as of this migration (historical models have no methods)."""
    written = [dict(entry) for entry in user.email_addresses or []]
    signin = user.email.lower()
    if any(str(entry.get("value", "")).lower() == signin for entry in written):
        return written
    for entry in written:
        entry.pop("primary", None)
    return [{"value": user.email, "type": "work", "primary": True}, *written]


def from_users(apps, schema_editor):
    """Every company user's emails, the sign-in one included, into the searched table."""
    User = apps.get_model("accounts", "User")
    UserEmail = apps.get_model("accounts", "UserEmail")
    rows = []
    users = User.objects.filter(company__isnull=False).only("company", "email", "email_addresses")
    for user in users.iterator(chunk_size=2000):
        rows.extend(
            UserEmail(
                company_id=user.company_id,
                user_id=user.pk,
                value_lower=entry["value"].lower(),
                type=entry.get("type", ""),
                primary=entry.get("primary", False),
            )
            for entry in emails_of(user)
        )
        if len(rows) >= 2000:
            UserEmail.objects.bulk_create(rows)
            rows = []
    UserEmail.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_user_preferred_area_code"),
    ]

    operations = [
        migrations.CreateModel(
            name="UserEmail",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value_lower", models.CharField(max_length=254)),
                ("type", models.CharField(blank=True, max_length=30)),
                ("primary", models.BooleanField(default=False)),
                (
                    "company",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.company",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["company", "value_lower"], name="user_email_company_value")
                ],
            },
        ),
        migrations.RunPython(from_users, migrations.RunPython.noop),
    ]
