"""The operator's override: mark a company's domain verified without DNS (support, or
deployments whose DNS cannot be reached), audited as the operator."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import domains
from accounts.audit import Source, SystemActor
from accounts.errors import DomainError
from accounts.management.companies import company_by_slug
from accounts.models import Company, CompanyDomain, DomainStatus, VerificationMethod

ACTOR = SystemActor("operator (manage.py verify_domain)")


class Command(BaseCommand):
    help = (
        "Mark a company's email domain verified without DNS (claiming it first if needed), or "
        "--all-pending: every pending claim nobody else holds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", metavar="SLUG")
        parser.add_argument("--domain", metavar="DOMAIN")
        parser.add_argument(
            "--all-pending",
            action="store_true",
            help="verify every pending claim (of --company, if given) of a domain no other "
            "company claims; contested ones are listed, not verified",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all_pending"]:
            if options["domain"]:
                raise CommandError("Give --domain or --all-pending, not both.")
            company = company_by_slug(options["company"]) if options["company"] else None
            self.verify_all_pending(company)
            return
        if not options["company"] or not options["domain"]:
            raise CommandError("Give --company SLUG and --domain DOMAIN (or --all-pending).")
        company = company_by_slug(options["company"])
        try:
            claim = verify_for(company, options["domain"])
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"{claim.domain} is verified for {company.name} ({company.slug}).")

    def verify_all_pending(self, company: Company | None) -> None:
        claims = CompanyDomain.objects.filter(status=DomainStatus.PENDING).select_related("company")
        if company is not None:
            claims = claims.filter(company=company)
        verified = 0
        for claim in claims.order_by("domain"):
            rivals = CompanyDomain.objects.filter(domain=claim.domain).exclude(pk=claim.pk)
            if rivals.exists():
                self.stdout.write(
                    f"Skipped {claim.domain} ({claim.company.slug}): other companies claim it "
                    "too. Verify the right one with --company and --domain."
                )
                continue
            try:
                domains.verify_domain(
                    claim=claim, method=VerificationMethod.OPERATOR, actor=ACTOR, source=Source.CLI
                )
            except DomainError as error:
                self.stdout.write(f"Skipped {claim.domain} ({claim.company.slug}): {error.message}")
                continue
            verified += 1
            self.stdout.write(f"Verified {claim.domain} for {claim.company.slug}.")
        self.stdout.write(f"{verified} domain(s) verified.")


def verify_for(company: Company, domain: str) -> CompanyDomain:
    """The company's claim of `domain` (made now if it has none) marked verified."""
    domain = domains.clean_domain(domain)
    claim = CompanyDomain.objects.filter(company=company, domain=domain).first()
    if claim is None:
        claim = domains.add_company_domain(
            company=company, domain=domain, actor=ACTOR, source=Source.CLI
        )
    return domains.verify_domain(
        claim=claim, method=VerificationMethod.OPERATOR, actor=ACTOR, source=Source.CLI
    )
