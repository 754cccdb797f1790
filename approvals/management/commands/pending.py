import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.audit import Source
from accounts.errors import DomainError
from accounts.management.companies import company_by_slug
from accounts.models import Company, User
from approvals import services
from approvals.models import ChangeStatus, PendingChange


class Command(BaseCommand):
    help = (
        "The approval queue from the command line: list, approve or reject a company's pending "
        "SCIM changes (through the same services as Admin Settings, audited as --as)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="one line per change")
        listing.add_argument("--company", required=True, help="the company's slug")
        listing.add_argument(
            "--status",
            default=ChangeStatus.PENDING,
            help="pending (default), approved, applied, failed, rejected, expired, or all",
        )
        for verb in ("approve", "reject"):
            sub = actions.add_parser(verb, help=f"{verb} changes")
            sub.add_argument("--company", required=True, help="the company's slug")
            which = sub.add_mutually_exclusive_group(required=True)
            which.add_argument("--id", type=int, nargs="+", dest="ids", help="change ids")
            which.add_argument("--all", action="store_true", help="every pending change")
            sub.add_argument("--as", required=True, dest="as_email", help="the approver's email")
            sub.add_argument("--comment", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["company"])
        changes = PendingChange.objects.filter(company=company).order_by("pk")
        if options["action"] == "list":
            self._list(changes, options["status"])
            return
        approver = User.objects.filter(email__lower=options["as_email"].lower()).first()
        if approver is None or approver.company_id != company.pk:
            raise CommandError(f"{options['as_email']} is not a user of {company.slug}.")
        if options["all"]:
            selected = list(changes.filter(status=ChangeStatus.PENDING))
        else:
            selected = list(changes.filter(pk__in=options["ids"]))
            missing = set(options["ids"]) - {change.pk for change in selected}
            if missing:
                raise CommandError(
                    f"No change {', '.join(f'#{pk}' for pk in sorted(missing))} in {company.slug}."
                )
        started = time.monotonic()
        if options["action"] == "approve":
            failures = self._approve(company, selected, approver, options["comment"])
        else:
            failures = self._reject(selected, approver, options["comment"])
        if services.apply_tasks_unsent_since(started):
            self.stderr.write(services.APPLY_DEFERRED_MESSAGE)
        if failures:
            raise CommandError(f"{failures} of {len(selected)} change(s) were not decided.")
        if not selected:
            self.stdout.write("Nothing to decide.")

    def _approve(
        self, company: Company, selected: list[PendingChange], approver: User, comment: str
    ) -> int:
        try:
            approval = services.approve_changes(
                company=company,
                change_ids=[change.pk for change in selected],
                actor=approver,
                source=Source.CLI,
                comment=comment,
            )
        except DomainError as error:
            self.stderr.write(error.message)
            return len(selected)
        for change_id, refusal in sorted(approval.refused.items()):
            self.stderr.write(f"#{change_id}: {refusal.message}")
        for change_id in approval.approved:
            self.stdout.write(f"#{change_id} approved")
        return len(approval.refused)

    def _reject(self, selected: list[PendingChange], approver: User, comment: str) -> int:
        failures = 0
        for change in selected:
            try:
                services.reject_change(
                    change=change, actor=approver, source=Source.CLI, comment=comment
                )
            except DomainError as error:
                failures += 1
                self.stderr.write(f"#{change.pk}: {error.message}")
                continue
            change.refresh_from_db()
            detail = f": {change.error}" if change.error else ""
            self.stdout.write(f"#{change.pk} {change.get_status_display().lower()}{detail}")
        return failures

    def _list(self, changes: QuerySet[PendingChange], status: str) -> None:
        if status != "all":
            if status not in ChangeStatus.values:
                raise CommandError(f"Unknown status '{status}'.")
            changes = changes.filter(status=status)
        now = timezone.now()
        rows = [
            (
                f"#{change.pk}",
                change.operation,
                change.user_label,
                timesince(change.created_at, now).split(",")[0],
                change.status,
            )
            for change in changes
        ]
        if not rows:
            self.stdout.write("No changes.")
            return
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            self.stdout.write(
                "  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip()
            )
