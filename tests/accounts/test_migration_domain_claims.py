"""accounts 0012: the email domains companies had become unverified claims, each with a token of
its own; they route nobody until verified."""

import pytest

from tests.accounts.test_migration_phone_numbers import migrate, migrate_to_the_latest


@pytest.mark.django_db(transaction=True)
def test_existing_domains_become_unverified_claims_with_their_own_tokens():
    apps = migrate("0011_user_phone_number")
    try:
        Company = apps.get_model("accounts", "Company")
        CompanyDomain = apps.get_model("accounts", "CompanyDomain")
        acme = Company.objects.create(name="Acme", slug="acme")
        globex = Company.objects.create(name="Globex", slug="globex")
        CompanyDomain.objects.create(company=acme, domain="acme.example")
        CompanyDomain.objects.create(company=acme, domain="acme-corp.example")
        CompanyDomain.objects.create(company=globex, domain="globex.example")

        apps = migrate("0012_companydomain_claims")

        claims = list(apps.get_model("accounts", "CompanyDomain").objects.order_by("domain"))
        assert [(c.domain, c.status) for c in claims] == [
            ("acme-corp.example", "pending"),
            ("acme.example", "pending"),
            ("globex.example", "pending"),
        ]
        tokens = {claim.token for claim in claims}
        assert len(tokens) == 3
        assert all(len(token) == 32 for token in tokens)
        assert all(claim.verified_at is None for claim in claims)
    finally:
        migrate_to_the_latest()
