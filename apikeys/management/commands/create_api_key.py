from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.audit import Source, SystemActor
from accounts.errors import DomainError
from accounts.management.companies import company_by_slug
from apikeys import services
from apikeys.models import Scope


class Command(BaseCommand):
    help = (
        "Create an API key for a company and print only the key on stdout, so a script can "
        "capture it: KEY=$(manage.py create_api_key --company acme --name OneLogin)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, metavar="SLUG")
        parser.add_argument("--name", required=True, help="who uses the key, e.g. OneLogin")
        parser.add_argument(
            "--expires-in-days", type=int, metavar="N", help="omit for a key without expiry"
        )
        parser.add_argument(
            "--scope",
            action="append",
            choices=Scope.values,
            help="repeat for more; default: scim",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["company"])
        days = options.get("expires_in_days")
        if days is not None and not 1 <= days <= 3650:
            raise CommandError("--expires-in-days must be a whole number from 1 to 3650.")
        try:
            api_key, raw_key = services.create_api_key(
                company=company,
                name=options["name"],
                scopes=options.get("scope") or [Scope.SCIM],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                actor=SystemActor("manage.py create_api_key"),
                source=Source.CLI,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(raw_key)
        self.stderr.write(
            f"Created API key '{api_key.name}' ({api_key.prefix}…) for {company.slug}. "
            "It is shown only this once."
        )
