"""Email domains become claims that a company verifies (DNS TXT or a platform operator).

Every domain claimed before is kept as an unverified claim with a token of its own: it routes
nobody until its company publishes the record, or an operator verifies it
(`manage.py verify_domain --all-pending`).
"""

import secrets

from django.db import migrations, models

import accounts.models


def give_each_claim_a_token(apps, schema_editor):
    CompanyDomain = apps.get_model("accounts", "CompanyDomain")
    claims = list(CompanyDomain.objects.only("pk"))
    for claim in claims:
        claim.token = secrets.token_hex(16)
    CompanyDomain.objects.bulk_update(claims, ["token"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_user_phone_number"),
    ]

    operations = [
        migrations.AlterField(
            model_name="companydomain",
            name="domain",
            field=models.CharField(max_length=253),
        ),
        migrations.AddField(
            model_name="companydomain",
            name="token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(give_each_claim_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="companydomain",
            name="token",
            field=models.CharField(
                default=accounts.models.new_verification_token, max_length=64, unique=True
            ),
        ),
        migrations.AddField(
            model_name="companydomain",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Not verified"),
                    ("verified", "Verified"),
                    ("ended", "Verified by another organization"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="companydomain",
            name="verified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="companydomain",
            name="verification_method",
            field=models.CharField(
                blank=True,
                choices=[("dns", "DNS TXT record"), ("operator", "Platform operator")],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="companydomain",
            name="last_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="companydomain",
            name="last_check",
            field=models.CharField(
                blank=True,
                choices=[
                    ("found", "Record found"),
                    ("no_record", "No matching TXT record"),
                    ("nxdomain", "The record's name does not exist (NXDOMAIN)"),
                    ("servfail", "The domain's DNS servers failed to answer (SERVFAIL)"),
                    ("timeout", "The DNS look-up timed out"),
                    ("error", "The DNS look-up failed"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="companydomain",
            name="record_missing_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="companydomain",
            constraint=models.UniqueConstraint(
                fields=("company", "domain"), name="company_domain_one_claim_per_company"
            ),
        ),
        migrations.AddConstraint(
            model_name="companydomain",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "verified")),
                fields=("domain",),
                name="company_domain_verified_by_one_company",
            ),
        ),
    ]
