"""Email-domain claims verified by DNS TXT records, against a real DNS server on 127.0.0.1
(tests/dns_server.py), and the operator's override."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import domains
from accounts.audit import SYSTEM, Source
from accounts.errors import Conflict, DomainError
from accounts.models import AuditEvent, CompanyDomain, DnsCheck, DomainStatus, VerificationMethod
from accounts.tasks import check_domains
from tests.accounts.factories import CompanyAdminFactory, CompanyDomainFactory, UserFactory

pytestmark = pytest.mark.django_db


def claim(company, domain="acme.example"):
    return domains.add_company_domain(
        company=company, domain=domain, actor=SYSTEM, source=Source.CLI
    )


def publish(dns_zone, claim):
    dns_zone.publish(f"_switchboard.{claim.domain}", f"switchboard-verification={claim.token}")


def check(claim):
    return domains.check_claim(claim=claim, actor=SYSTEM, source=Source.TASK)


def events(action, company=None):
    rows = AuditEvent.objects.filter(action=action)
    return list(rows if company is None else rows.filter(company=company))


# --- claims ---


def test_a_claim_has_its_own_token_and_routes_nothing(company, other_company):
    mine, theirs = claim(company), claim(other_company)  # pending claims block nobody
    assert mine.status == theirs.status == DomainStatus.PENDING
    assert len(mine.token) == 32
    assert mine.token != theirs.token
    assert domains.company_for_email("ada@acme.example") is None
    [event] = events("company.domain_added", company)
    assert event.after == {"domain": "acme.example", "status": "pending"}


@pytest.mark.parametrize(
    ("domain", "code"),
    [
        ("gmail.com", "free_mail_domain"),
        ("Outlook.com", "free_mail_domain"),
        ("yahoo.co.uk", "free_mail_domain"),
        ("co.uk", "public_suffix"),
        ("github.io", "public_suffix"),
        ("com", "invalid"),
    ],
)
def test_free_mail_and_public_suffix_domains_cannot_be_claimed(company, domain, code):
    with pytest.raises(DomainError) as caught:
        claim(company, domain)
    assert caught.value.code == code
    assert caught.value.field == "domain"
    assert not CompanyDomain.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_company_own_domain_under_a_public_suffix_can_be_claimed(company):
    assert claim(company, "acme.co.uk").domain == "acme.co.uk"


# --- DNS verification ---


def test_claim_publish_verify(company, dns_zone):
    row = claim(company)
    assert check(row).last_check == DnsCheck.NXDOMAIN  # nothing published yet
    publish(dns_zone, row)
    row = check(row)
    assert row.status == DomainStatus.VERIFIED
    assert row.verification_method == VerificationMethod.DNS
    assert row.verified_at is not None
    assert row.last_check == DnsCheck.FOUND
    assert domains.company_for_email("Ada@ACME.example") == company
    [event] = events("company.domain_verified", company)
    assert event.after == {"domain": "acme.example", "method": "dns", "other_claims_ended": 0}
    assert domains.check_summary(row) == (
        "Verified: the TXT record of acme.example was found at _switchboard.acme.example."
    )


def test_record_split_into_several_strings_counts(company, dns_zone):
    row = claim(company)
    value = f"switchboard-verification={row.token}"
    # One TXT record made of two character strings (as long values are published).
    dns_zone.publish(f"_switchboard.{row.domain}", "v=spf1 -all", [value[:20], value[20:]])
    assert check(row).status == DomainStatus.VERIFIED


@pytest.mark.parametrize(
    ("arrange", "outcome", "words"),
    [
        (lambda zone, host: None, DnsCheck.NXDOMAIN, "does not exist in DNS yet"),
        (
            lambda zone, host: zone.publish(host, "switchboard-verification=not-yours"),
            DnsCheck.NO_RECORD,
            "has no TXT record with this domain's value",
        ),
        (lambda zone, host: zone.publish(host), DnsCheck.NO_RECORD, "has no TXT record"),
        (lambda zone, host: zone.servfail(host), DnsCheck.SERVFAIL, "(SERVFAIL)"),
        (lambda zone, host: zone.silent(host), DnsCheck.TIMEOUT, "timed out"),
    ],
)
def test_each_dns_failure_is_a_clear_status(company, dns_zone, arrange, outcome, words):
    row = claim(company)
    arrange(dns_zone, f"_switchboard.{row.domain}")
    row = check(row)
    assert row.status == DomainStatus.PENDING
    assert row.last_check == outcome
    assert row.last_checked_at is not None
    assert words in domains.check_summary(row)
    assert domains.company_for_email("ada@acme.example") is None


def test_unreachable_dns_server_is_a_timeout_not_an_error(company, dns_zone, settings):
    settings.DOMAIN_DNS_PORT = 9  # nothing answers there
    settings.DOMAIN_DNS_TIMEOUT = 0.5
    row = check(claim(company))
    assert row.last_check in (DnsCheck.TIMEOUT, DnsCheck.ERROR)
    assert row.status == DomainStatus.PENDING


def verified_by_dns(company, dns_zone, domain="acme.example"):
    row = claim(company, domain)
    publish(dns_zone, row)
    return check(row)


def test_record_removed_loses_verification_after_the_grace_period(company, dns_zone):
    CompanyAdminFactory(company=company, email="admin@acme.example")
    CompanyAdminFactory(company=company, email="left@acme.example", status="suspended")
    row = verified_by_dns(company, dns_zone)
    dns_zone.remove(f"_switchboard.{row.domain}")

    row = check(row)
    assert row.status == DomainStatus.VERIFIED  # the grace period starts
    assert row.record_missing_since is not None
    assert len(events("company.domain_record_missing", company)) == 1
    row = check(row)  # still within it: nothing more
    assert row.status == DomainStatus.VERIFIED
    assert len(events("company.domain_record_missing", company)) == 1

    CompanyDomain.objects.filter(pk=row.pk).update(
        record_missing_since=timezone.now() - timedelta(days=7, minutes=1)
    )
    row.refresh_from_db()
    row = check(row)
    assert row.status == DomainStatus.PENDING
    assert row.verified_at is None
    assert domains.company_for_email("ada@acme.example") is None
    [event] = events("company.domain_verification_lost", company)
    assert event.after["domain"] == "acme.example"
    assert event.actor_kind == "system"


def test_losing_verification_tells_the_company_admins(
    company, dns_zone, django_capture_on_commit_callbacks
):
    CompanyAdminFactory(company=company, email="admin@acme.example")
    CompanyAdminFactory(company=company, email="left@acme.example", status="suspended")
    UserFactory(company=company, email="member@acme.example")
    row = verified_by_dns(company, dns_zone)
    dns_zone.remove(f"_switchboard.{row.domain}")
    check(row)
    CompanyDomain.objects.filter(pk=row.pk).update(
        record_missing_since=timezone.now() - timedelta(days=8)
    )
    with django_capture_on_commit_callbacks(execute=True):
        check(row)
    assert [message.to for message in mail.outbox] == [["admin@acme.example"]]
    [message] = mail.outbox
    assert "acme.example is no longer verified" in message.subject
    assert f"switchboard-verification={row.token}" in message.body
    assert "_switchboard.acme.example" in message.body


def test_record_back_within_the_grace_period_keeps_verification(company, dns_zone):
    row = verified_by_dns(company, dns_zone)
    dns_zone.remove(f"_switchboard.{row.domain}")
    assert check(row).record_missing_since is not None
    publish(dns_zone, row)
    row = check(row)
    assert row.record_missing_since is None
    assert row.status == DomainStatus.VERIFIED


@pytest.mark.parametrize("failure", ["servfail", "silent"])
def test_no_answer_neither_starts_nor_ends_the_grace_period(company, dns_zone, failure):
    row = verified_by_dns(company, dns_zone)
    getattr(dns_zone, failure)(f"_switchboard.{row.domain}")
    row = check(row)
    assert row.status == DomainStatus.VERIFIED
    assert row.record_missing_since is None
    CompanyDomain.objects.filter(pk=row.pk).update(
        record_missing_since=timezone.now() - timedelta(days=30)
    )
    row.refresh_from_db()
    assert check(row).status == DomainStatus.VERIFIED


def test_operator_verification_stands_whatever_dns_says(company, dns_zone):
    row = domains.verify_domain(
        claim=claim(company), method=VerificationMethod.OPERATOR, actor=SYSTEM, source=Source.CLI
    )
    row = check(row)  # nothing published
    CompanyDomain.objects.filter(pk=row.pk).update(
        record_missing_since=timezone.now() - timedelta(days=30)
    )
    row.refresh_from_db()
    assert check(row).status == DomainStatus.VERIFIED
    assert not events("company.domain_verification_lost")


# --- first to verify wins ---


def test_first_to_verify_wins_and_ends_the_other_pending_claims(company, other_company, dns_zone):
    ours, theirs = claim(company), claim(other_company)
    publish(dns_zone, theirs)
    publish(dns_zone, ours)  # both records published: the first check decides
    theirs = check(theirs)
    assert theirs.status == DomainStatus.VERIFIED
    ours.refresh_from_db()
    assert ours.status == DomainStatus.ENDED
    [won] = events("company.domain_verified", other_company)
    assert won.after["other_claims_ended"] == 1
    [ended] = events("company.domain_claim_ended", company)
    assert ended.after == {"status": "ended", "reason": "verified by another organization"}
    assert other_company.name not in str(ended.after)

    with pytest.raises(DomainError, match="verified by another organization") as caught:
        check(ours)
    assert other_company.name not in caught.value.message
    with pytest.raises(Conflict, match="verified by another organization"):
        domains.verify_domain(
            claim=ours, method=VerificationMethod.OPERATOR, actor=SYSTEM, source=Source.CLI
        )
    assert domains.company_for_email("ada@acme.example") == other_company


def test_a_verified_domain_cannot_be_claimed_by_another_company(company, other_company):
    CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    for domain in ("acme.example", "eu.acme.example"):
        with pytest.raises(Conflict) as caught:
            claim(other_company, domain)
        assert caught.value.message.startswith(f"{domain} is verified by another organization")
        assert company.name not in caught.value.message
    assert not CompanyDomain.objects.filter(company=other_company).exists()
    assert claim(company, "eu.acme.example").status == DomainStatus.PENDING  # its own: fine


# --- subdomains ---


def test_verifying_a_domain_ends_other_companies_pending_claims_of_its_subdomains(
    company, other_company
):
    theirs = claim(other_company, "eu.acme.example")
    own_subdomain = claim(company, "us.acme.example")
    domains.verify_domain(
        claim=claim(company), method=VerificationMethod.OPERATOR, actor=SYSTEM, source=Source.CLI
    )
    theirs.refresh_from_db()
    own_subdomain.refresh_from_db()
    assert theirs.status == DomainStatus.ENDED
    assert own_subdomain.status == DomainStatus.PENDING
    assert [event.target_id for event in events("company.domain_claim_ended", other_company)] == [
        str(theirs.pk)
    ]
    with pytest.raises(Conflict, match="verified by another organization"):
        domains.verify_domain(
            claim=theirs, method=VerificationMethod.OPERATOR, actor=SYSTEM, source=Source.CLI
        )


def test_a_verified_domain_covers_its_subdomains(company, other_company):
    CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    assert domains.company_for_email("x@eu.acme.example") == company
    assert domains.company_for_email("x@deep.eu.acme.example") == company
    assert domains.company_for_email("x@notacme.example") is None
    with pytest.raises(DomainError, match="verified by another organization"):
        domains.refuse_email_verified_elsewhere(company=other_company, email="x@eu.acme.example")


def test_the_most_specific_verified_domain_decides(company, other_company):
    CompanyDomainFactory(company=other_company, domain="eu.acme.example", verified=True)
    CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    assert domains.company_for_email("x@eu.acme.example") == other_company
    assert domains.company_for_email("x@us.acme.example") == company


# --- the beat job and the commands ---


def test_beat_job_checks_pending_claims_and_rechecks_verified_ones_daily(
    company, other_company, dns_zone
):
    pending = claim(company)
    publish(dns_zone, pending)
    fresh = verified_by_dns(other_company, dns_zone, "globex.test")  # just checked
    stale = claim(other_company, "globex.example")
    publish(dns_zone, stale)
    stale = check(stale)
    CompanyDomain.objects.filter(pk=stale.pk).update(
        last_checked_at=timezone.now() - timedelta(hours=24)
    )
    operator = CompanyDomainFactory(company=company, domain="operator.example", verified=True)

    assert check_domains() == 2  # the pending claim and the stale verified one
    pending.refresh_from_db()
    assert pending.status == DomainStatus.VERIFIED
    due = domains.claims_to_check(due_only=True)
    assert fresh not in due
    assert operator not in due


def test_old_pending_claims_are_looked_up_daily(company, dns_zone):
    recent, old = claim(company), claim(company, "acme-corp.example")
    CompanyDomain.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    check_domains()
    assert set(domains.claims_to_check(due_only=True)) == {recent}
    CompanyDomain.objects.filter(pk=old.pk).update(
        last_checked_at=timezone.now() - timedelta(hours=24)
    )
    assert set(domains.claims_to_check(due_only=True)) == {recent, old}
    assert len(domains.claims_to_check(due_only=False)) == 2


def test_beat_runs_the_domain_checks_hourly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["check-domains"]
    assert entry == {"task": check_domains.name, "schedule": 3600.0}


def test_check_domains_command(company, other_company, dns_zone):
    mine = claim(company)
    publish(dns_zone, mine)
    claim(other_company, "globex.example")
    out = run("check_domains", "--company", "acme")
    assert "acme: Verified: the TXT record of acme.example" in out
    assert "globex" not in out
    assert "1 domain(s) checked." in out
    out = run("check_domains")
    assert "globex: Not verified yet: _switchboard.globex.example does not exist" in out
    with pytest.raises(CommandError, match="No company with the slug 'nope'"):
        run("check_domains", "--company", "nope")


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_verify_domain_command_is_the_operators_override(company):
    out = run("verify_domain", "--company", "acme", "--domain", "ACME.example")
    assert "acme.example is verified for Acme (acme)." in out
    row = CompanyDomain.objects.get(company=company, domain="acme.example")
    assert row.status == DomainStatus.VERIFIED
    assert row.verification_method == VerificationMethod.OPERATOR
    [event] = events("company.domain_verified", company)
    assert event.actor_label == "operator (manage.py verify_domain)"
    assert event.source == "cli"
    # Twice changes nothing.
    run("verify_domain", "--company", "acme", "--domain", "acme.example")
    assert len(events("company.domain_verified")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--company", "nope", "--domain", "x.example"], "No company with the slug 'nope'"),
        (["--company", "acme"], "Give --company SLUG and --domain DOMAIN"),
        (["--company", "acme", "--domain", "gmail.com"], "free email service"),
        (["--all-pending", "--domain", "x.example"], "not both"),
    ],
)
def test_verify_domain_command_refuses_bad_input(company, args, message):
    with pytest.raises(CommandError, match=message):
        run("verify_domain", *args)
    assert not CompanyDomain.objects.filter(status=DomainStatus.VERIFIED).exists()


def test_verify_all_pending_skips_contested_domains(company, other_company):
    claim(company)
    claim(company, "acme-corp.example")
    claim(other_company, "acme-corp.example")
    claim(other_company, "globex.example")
    out = run("verify_domain", "--all-pending", "--company", "acme")
    assert "Verified acme.example for acme." in out
    assert "Skipped acme-corp.example (acme): other companies claim it too." in out
    assert "1 domain(s) verified." in out
    out = run("verify_domain", "--all-pending")
    assert "Verified globex.example for globex." in out
    assert set(
        CompanyDomain.objects.filter(status=DomainStatus.VERIFIED).values_list("domain", flat=True)
    ) == {"acme.example", "globex.example"}


def test_domain_conflicts_lists_accounts_of_other_companies(company, other_company):
    contractor = UserFactory(company=other_company, email="pat@eu.acme.example")
    UserFactory(company=company, email="ada@acme.example")  # its own: no conflict
    UserFactory(company=other_company, email="sam@globex.example")
    CompanyDomainFactory(company=company, domain="acme.example", verified=True)
    assert domains.domain_conflicts() == [(company.domains.get(), contractor)]
    out = run("domain_conflicts")
    assert "acme.example (verified by acme): pat@eu.acme.example in globex" in out
    assert "1 account(s)" in out
    assert "0 account(s)" in run("domain_conflicts", "--company", "globex")
    contractor.refresh_from_db()
    assert contractor.company == other_company  # listed, never moved
