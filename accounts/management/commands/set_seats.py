from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.audit import Source, SystemActor
from accounts.errors import DomainError
from accounts.management.companies import company_by_slug
from accounts.models import LicenseType


class Command(BaseCommand):
    help = (
        "Set how many seats of a license type a company has bought (operators only: company "
        "admins see seats read-only). Refused below the seats in use."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, metavar="SLUG")
        parser.add_argument(
            "--license", required=True, metavar="TYPE", help=", ".join(LicenseType.values)
        )
        parser.add_argument("--seats", required=True, type=int, metavar="N")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["company"])
        try:
            row = services.set_license_seats(
                company=company,
                license_type=options["license"],
                seats=options["seats"],
                actor=SystemActor("manage.py set_seats"),
                source=Source.CLI,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"{company.slug}: {row.seats} '{row.get_license_type_display()}' seats, "
            f"{row.used} in use, {max(0, row.seats - row.used)} free."
        )
