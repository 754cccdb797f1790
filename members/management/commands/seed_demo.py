"""A demo company to try the product with; safe to run again (it changes nothing the second time
except the admin's password when one is given)."""

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts import domains, services
from accounts.audit import Source, SystemActor
from accounts.models import (
    Company,
    DomainStatus,
    LicenseType,
    Plan,
    Role,
    User,
    VerificationMethod,
)
from members import services as member_services

ACTOR = SystemActor("manage.py seed_demo")
SEATS = {LicenseType.TALK: 50, LicenseType.CONTACT_CENTER: 10, LicenseType.SALES: 10}


class Command(BaseCommand):
    help = "Create (or refresh) the demo company 'acme' and its company admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin-password", help="password for admin@acme.example")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        company = Company.objects.filter(slug="acme").first()
        if company is None:
            company = services.create_company(
                name="Acme Corporation",
                slug="acme",
                plan=Plan.ENTERPRISE,
                domains=["acme.example"],
                actor=ACTOR,
                source=Source.CLI,
            )
        # Verified by the operator's override, so /login/ routes the demo's people offline.
        claim = company.domains.filter(domain="acme.example").first()
        if claim is not None and claim.status == DomainStatus.PENDING:
            domains.verify_domain(
                claim=claim, method=VerificationMethod.OPERATOR, actor=ACTOR, source=Source.CLI
            )
        for license_type, seats in SEATS.items():
            current = company.license_seats.filter(license_type=license_type).first()
            if current is None or current.seats < seats:
                services.set_license_seats(
                    company=company,
                    license_type=license_type,
                    seats=seats,
                    actor=ACTOR,
                    source=Source.CLI,
                )

        password = options.get("admin_password")
        admin = User.objects.filter(email__lower="admin@acme.example").first()
        if admin is None:
            password = password or secrets.token_urlsafe(12)
            admin = member_services.create_member(
                company=company,
                email="admin@acme.example",
                given_name="Ada",
                family_name="Admin",
                role=Role.COMPANY_ADMIN,
                password=password,
                actor=ACTOR,
                source=Source.CLI,
            )
        elif password:
            services.set_user_password(
                user=admin, password=password, actor=ACTOR, source=Source.CLI
            )

        for extension in self.extensions():
            extension(company=company, actor=ACTOR)

        base = settings.PUBLIC_BASE_URL
        self.stdout.write(self.style.SUCCESS(f"Demo company: {company.name} (slug acme)"))
        self.stdout.write(f"  Admin Settings: {base}/admin/")
        self.stdout.write("  Sign in as:     admin@acme.example")
        if password:
            self.stdout.write(f"  Password:       {password}")
        else:
            self.stdout.write("  Password:       unchanged (pass --admin-password to set one)")

    def extensions(self) -> list[Any]:
        """Later apps add demo data (offices, numbers …) through their own seed functions."""
        from django.utils.module_loading import import_string

        return [import_string(path) for path in getattr(settings, "SEED_DEMO_HOOKS", [])]
