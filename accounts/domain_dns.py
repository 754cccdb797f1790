"""The DNS side of domain verification: where the TXT record goes, what it says, and one look-up.

A claim of `acme.example` is proven by a TXT record at `_switchboard.acme.example` whose value
is `switchboard-verification=<the claim's token>`. A label of its own leaves the domain's own TXT
records (SPF, other services' proofs) alone and can be delegated by a CNAME.

No database here: `accounts.domains` records what a look-up found.
"""

from __future__ import annotations

import dns.exception
import dns.resolver
from django.conf import settings

from accounts.models import DnsCheck

RECORD_LABEL = "_switchboard"
RECORD_PREFIX = "switchboard-verification="


def record_host(domain: str) -> str:
    """The name the TXT record is published at."""
    return f"{RECORD_LABEL}.{domain}"


def record_value(token: str) -> str:
    """The TXT record's exact value."""
    return f"{RECORD_PREFIX}{token}"


def resolver() -> dns.resolver.Resolver:
    """The system's resolver, or the one DOMAIN_DNS_NAMESERVERS names (tests point it at a DNS
    server of their own); each look-up gives up after DOMAIN_DNS_TIMEOUT seconds."""
    nameservers = settings.DOMAIN_DNS_NAMESERVERS
    result = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        result.nameservers = list(nameservers)
    result.port = settings.DOMAIN_DNS_PORT
    result.lifetime = settings.DOMAIN_DNS_TIMEOUT
    result.timeout = settings.DOMAIN_DNS_TIMEOUT
    result.cache = None
    return result


def look_up(domain: str, token: str) -> DnsCheck:
    """Whether `domain` publishes the TXT record of `token`: FOUND, or why not. Never raises for
    what DNS answers (or fails to)."""
    try:
        answer = resolver().resolve(record_host(domain), "TXT", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return DnsCheck.NXDOMAIN
    except dns.resolver.NoNameservers:  # every server answered SERVFAIL (or refused)
        return DnsCheck.SERVFAIL
    except dns.exception.Timeout:
        return DnsCheck.TIMEOUT
    except dns.exception.DNSException:
        return DnsCheck.ERROR
    wanted = record_value(token).encode()
    for rdata in answer.rrset or []:
        # A TXT record may be split into several strings; its value is their concatenation.
        if b"".join(rdata.strings).strip() == wanted:
            return DnsCheck.FOUND
    return DnsCheck.NO_RECORD
