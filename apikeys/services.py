"""Every write to API keys, and the check that turns a bearer token into a key.

`create_api_key` and `revoke_api_key` own their transaction and audit inside it.
`authenticate` is on the hot path of every SCIM and REST request: one cache round trip, one
SHA-256, one indexed query (apikeys/selectors.py) unless this process read the key recently and
nothing changed since (apikeys/key_cache.py), and at most one UPDATE a minute per key. With the
shared cache unreachable it is one SHA-256 and one query.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import Actor, ClientActor, Source, record_audit
from accounts.errors import Conflict, DomainError
from accounts.models import Company, User
from apikeys import key_cache, tokens
from apikeys.models import APIKey, Scope
from apikeys.throttle import FailureThrottle, KeyPrefixFailureThrottle
from core.cache import when_reachable

NAME_MAX_LENGTH = APIKey._meta.get_field("name").max_length or 100
LAST_USED_INTERVAL = timedelta(minutes=1)
# A revoked or expired key that an identity provider keeps sending is audited once an hour,
# not once per request.
REFUSED_USE_AUDIT_INTERVAL = 3600
# Compared against when the prefix is unknown, so both refusals cost the same work.
_NO_SUCH_KEY_HASH = tokens.hash_key(tokens.new_key(tokens.new_prefix()))


class AuthenticationFailed(Exception):
    """The key is missing, malformed, unknown, wrong, revoked or expired. Which one is never
    said: the message is the same for all."""

    message = "Invalid or missing API key."

    def __init__(self) -> None:
        super().__init__(self.message)


class Throttled(Exception):
    """Too many failed authentications from this client; try again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed authentications. Try again in {retry_after} seconds.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class _UnknownClient:
    """A client whose address we do not have (no valid REMOTE_ADDR)."""

    def audit_identity(self) -> tuple[str, User | None, str]:
        return ("client", None, "unknown client")


def _valid_ip(client_ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address((client_ip or "").strip()))
    except ValueError:
        return None


def _client_actor(ip: str | None) -> Actor:
    return ClientActor(ip) if ip else _UnknownClient()


def _acting_user(actor: Actor) -> User | None:
    return actor.audit_identity()[1]


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the key a name, e.g. “OneLogin provisioning”.", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(
            f"The name is {len(name)} characters long; use at most {NAME_MAX_LENGTH}.",
            field="name",
        )
    return name


def _ensure_name_free(company: Company, name: str) -> None:
    """Names tell a company's working keys apart: one name, one usable key (a revoked or expired
    key's name may be used again)."""
    taken = (
        APIKey.objects.filter(company=company, name__iexact=name, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .exists()
    )
    if taken:
        raise DomainError(
            f"A working key is already called “{name}”. Choose another name, or revoke that "
            "key first.",
            field="name",
        )


def clean_scopes(scopes: Iterable[str]) -> list[str]:
    if isinstance(scopes, str):
        scopes = [scopes]
    wanted = set(scopes)
    unknown = sorted(str(scope)[:50] for scope in wanted - set(Scope.values))
    if unknown:
        allowed = ", ".join(Scope.values)
        raise DomainError(
            f"Unknown scope {', '.join(unknown)}. Use one or more of: {allowed}.", field="scopes"
        )
    if not wanted:
        raise DomainError("Choose at least one scope for the key.", field="scopes")
    return [scope for scope in Scope.values if scope in wanted]


def create_api_key(
    *,
    company: Company,
    name: str,
    actor: Actor,
    source: str,
    expires_at: datetime | None = None,
    scopes: Iterable[str] = (Scope.SCIM,),
) -> tuple[APIKey, str]:
    """Create a key for the company; returns it with the full key, which is never stored and
    must be shown to the person who asked exactly once.

    Raises DomainError for an empty or over-long name, a name a usable key of the company
    already has, unknown or no scopes, or an expiry that is
    not in the future. Audits `api_key.created` (name, prefix, scopes, expiry — never the key).
    """
    name = clean_name(name)
    scope_list = clean_scopes(scopes)
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise DomainError("The expiry needs a time zone.", field="expires_at")
        if expires_at <= timezone.now():
            raise DomainError(
                "The expiry is in the past: choose a date after today.", field="expires_at"
            )
    for _attempt in range(3):
        prefix = tokens.new_prefix()
        raw_key = tokens.new_key(prefix)
        try:
            with transaction.atomic():
                # Under the company's lock, so two keys of one name cannot be made at once.
                Company.objects.select_for_update().filter(pk=company.pk).exists()
                _ensure_name_free(company, name)
                api_key = APIKey.objects.create(
                    company=company,
                    name=name,
                    prefix=prefix,
                    secret_hash=tokens.hash_key(raw_key),
                    scopes=scope_list,
                    created_by=_acting_user(actor),
                    expires_at=expires_at,
                )
                record_audit(
                    actor=actor,
                    source=source,
                    action="api_key.created",
                    company=company,
                    target=api_key,
                    after={
                        "name": name,
                        "prefix": prefix,
                        "scopes": scope_list,
                        "expires_at": expires_at.isoformat() if expires_at else None,
                    },
                )
        except IntegrityError:  # a prefix collision: 36**12 makes a second one unthinkable
            continue
        return api_key, raw_key
    raise DomainError("Could not create a unique key. Please try again.")


def revoke_api_key(*, api_key: APIKey, actor: Actor, source: str) -> APIKey:
    """Revoke the key: the next request that uses it is refused.

    Raises Conflict when the key is already revoked. Audits `api_key.revoked`.
    """
    with transaction.atomic():
        key = APIKey.objects.select_for_update().select_related("company").get(pk=api_key.pk)
        if key.revoked_at is not None:
            when = timezone.localtime(key.revoked_at).strftime("%Y-%m-%d %H:%M %Z")
            raise Conflict(f"The key '{key.name}' ({key.prefix}…) was already revoked on {when}.")
        status_before = key.status
        key.revoked_at = timezone.now()
        key.revoked_by = _acting_user(actor)
        key.save(update_fields=["revoked_at", "revoked_by"])
        record_audit(
            actor=actor,
            source=source,
            action="api_key.revoked",
            company=key.company,
            target=key,
            before={"status": str(status_before)},
            after={"status": "revoked", "revoked_at": key.revoked_at.isoformat()},
        )
    return key


def authenticate(*, raw_key: str, client_ip: str, source: str = Source.API) -> APIKey:
    """The usable key `raw_key` names, with its company loaded.

    A key that authenticates is served whatever else its client address sent. Raises
    AuthenticationFailed — saying nothing about why — for a malformed, unknown, wrong, revoked
    or expired key, and Throttled instead while the client address, or (for a wrong secret) the
    key's prefix, is blocked for too many failures (apikeys/throttle.py). Malformed, unknown and
    wrong keys count towards the address's block, wrong secrets also towards the prefix's
    (guessing looks like that); a revoked or expired key counts towards neither (it is a stale
    configuration, often sent from an identity provider's address that other companies share),
    but is audited, once an hour.

    Redis is optional: without it the key is read from the database and no failure is counted.
    """
    ip = _valid_ip(client_ip)
    address = FailureThrottle()
    parts = tokens.split_key(raw_key)
    prefix = parts[0] if parts is not None else None
    by_prefix = KeyPrefixFailureThrottle()
    shared_keys = [address.blocked_key(ip or ""), key_cache.EPOCH_KEY]
    if prefix is not None:
        shared_keys.append(by_prefix.blocked_key(prefix))
    # One round trip: are the address and the prefix blocked, and under which epoch are cached
    # keys still good.
    shared: dict[str, Any] = when_reachable(
        lambda: address.cache.get_many(shared_keys),
        fallback={},
        skipped="API keys are read from the database and failures are not counted",
    )

    key = None
    if prefix is not None:
        key = key_cache.key_with_company(prefix, shared.get(key_cache.EPOCH_KEY))
    presented = tokens.hash_key(raw_key) if parts is not None else ""
    expected = key.secret_hash if key is not None else _NO_SUCH_KEY_HASH
    matches = hmac.compare_digest(presented, expected)
    now = timezone.now()
    usable = (
        key is not None
        and matches
        and key.revoked_at is None
        and (key.expires_at is None or key.expires_at > now)
    )
    if not usable:
        waits = [address.wait_for(shared.get(address.blocked_key(ip or "")))]
        if key is not None and prefix is not None and not matches:
            waits.append(by_prefix.wait_for(shared.get(by_prefix.blocked_key(prefix))))
        wait = max((wait for wait in waits if wait is not None), default=None)
        if wait is not None:
            raise Throttled(wait)
    if key is None or not matches:
        _count_failure(address, ip or "", ip=ip, source=source, company=None)
        if key is not None and prefix is not None:
            _count_failure(by_prefix, prefix, ip=ip, source=source, company=key.company, key=key)
        raise AuthenticationFailed

    if key.revoked_at is not None:
        _audit_refused_use(key, ip, source, "api_key.revoked_key_used")
        raise AuthenticationFailed
    if key.expires_at is not None and key.expires_at <= now:
        _audit_refused_use(key, ip, source, "api_key.expired_key_used")
        raise AuthenticationFailed

    if key.last_used_at is None or key.last_used_at <= now - LAST_USED_INTERVAL:
        # Conditional, so concurrent requests on many processes write once between them.
        APIKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_INTERVAL)
        ).update(last_used_at=now, last_used_ip=ip)
        key.last_used_at, key.last_used_ip = now, ip
        key_cache.stamped(key)  # no new epoch: when a key was last used changes no request
    return key


def _count_failure(
    throttle: FailureThrottle | KeyPrefixFailureThrottle,
    subject: str,
    *,
    ip: str | None,
    source: str,
    company: Company | None,
    key: APIKey | None = None,
) -> None:
    """Count a failure; audit the block it starts (`api_key.throttled`, once per block whichever
    process sees it: an address's under no company, a key prefix's under the key's company)."""
    if not throttle.record_failure(subject):
        return
    record_audit(
        actor=_client_actor(ip),
        source=source,
        action="api_key.throttled",
        company=company,
        target=key,
        after={
            "blocked": "address" if key is None else "key",
            "failures": throttle.limit,
            "window_seconds": throttle.window,
            "blocked_seconds": throttle.block,
        },
    )


def _audit_refused_use(key: APIKey, ip: str | None, source: str, action: str) -> None:
    first_this_hour = when_reachable(
        lambda: caches["default"].add(
            f"apikeys:refused-use-audited:{key.pk}:{action}", 1, timeout=REFUSED_USE_AUDIT_INTERVAL
        ),
        fallback=False,  # not audited rather than audited per request: no flood of the log
        skipped="uses of revoked and expired keys are not audited",
    )
    if not first_this_hour:
        return
    record_audit(
        actor=_client_actor(ip),
        source=source,
        action=action,
        company=key.company,
        target=key,
        after={
            "expires_at": key.expires_at.isoformat() if key.expires_at else None,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        },
    )
