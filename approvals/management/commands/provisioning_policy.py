from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import Source, SystemActor
from accounts.errors import DomainError
from accounts.management.companies import company_by_slug
from approvals import services
from approvals.models import Operation


class Command(BaseCommand):
    help = (
        "Choose which SCIM operations of a company wait for an approver. "
        "--require-approval create,update,delete; an empty value turns approval off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, help="the company's slug")
        parser.add_argument(
            "--require-approval",
            required=True,
            metavar="OPERATIONS",
            help="comma-separated: create, update, delete (empty: none)",
        )
        parser.add_argument("--ttl-days", type=int, help="expire pending changes after N days")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["company"])
        wanted = {op.strip().lower() for op in options["require_approval"].split(",") if op.strip()}
        unknown = wanted - set(Operation.values)
        if unknown:
            raise CommandError(
                f"Unknown operation(s) {', '.join(sorted(unknown))}: use create, update, delete."
            )
        try:
            policy = services.set_policy(
                company=company,
                require_create="create" in wanted,
                require_update="update" in wanted,
                require_delete="delete" in wanted,
                pending_change_ttl_days=options["ttl_days"],
                actor=SystemActor("manage.py provisioning_policy"),
                source=Source.CLI,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        required = [op for op in Operation.values if policy.requires(op)]
        self.stdout.write(
            f"{company.slug}: approval required for {', '.join(required) or 'nothing'}; "
            f"pending changes expire after {policy.pending_change_ttl_days} days."
        )
