from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import Source, SystemActor
from accounts.errors import DomainError
from accounts.management.companies import company_by_slug
from apikeys import services
from apikeys.models import APIKey


class Command(BaseCommand):
    help = "Revoke a company's API key, named by the prefix shown in Admin Settings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, metavar="SLUG")
        parser.add_argument("--prefix", required=True, help="e.g. sbk_k3v9q2m8x1ab")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["company"])
        # Accept the prefix as the list shows it ("sbk_…abc…") or as the start of a full key.
        prefix = options["prefix"].strip().rstrip("…").rstrip(".")[:16]
        api_key = APIKey.objects.filter(company=company, prefix=prefix).first()
        if api_key is None:
            raise CommandError(
                f"No API key with the prefix '{prefix}' in the company '{options['company']}'."
            )
        try:
            services.revoke_api_key(
                api_key=api_key, actor=SystemActor("manage.py revoke_api_key"), source=Source.CLI
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Revoked API key '{api_key.name}' ({api_key.prefix}…).")
