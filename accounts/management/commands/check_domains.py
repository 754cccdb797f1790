from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts import domains
from accounts.audit import Source, SystemActor
from accounts.management.companies import company_by_slug


class Command(BaseCommand):
    help = (
        "Look up the DNS TXT record of every pending claim and every domain verified by DNS "
        "now (what the hourly beat job does for those due), and print what was found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", metavar="SLUG", help="only this company's domains")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["company"]) if options["company"] else None
        claims = domains.claims_to_check(company=company, due_only=False)
        checked = domains.check_claims(
            claims, actor=SystemActor("manage.py check_domains"), source=Source.CLI
        )
        for claim in checked:
            self.stdout.write(f"{claim.company.slug}: {domains.check_summary(claim)}")
        self.stdout.write(f"{len(checked)} domain(s) checked.")
