from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.audit import Source, SystemActor
from accounts.errors import DomainError
from accounts.models import Plan


class Command(BaseCommand):
    help = "Create a company with its email domains (operators and automation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True, help="lowercase letters, digits, hyphens")
        parser.add_argument("--domain", action="append", default=[], help="repeat for more")
        parser.add_argument("--plan", default=Plan.STANDARD, choices=Plan.values)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            company = services.create_company(
                name=options["name"],
                slug=options["slug"],
                plan=options["plan"],
                domains=options["domain"],
                actor=SystemActor("manage.py create_company"),
                source=Source.CLI,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Created company {company.name} ({company.slug}, {company.plan}).")
