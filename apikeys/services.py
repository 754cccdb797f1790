"""Every write to API keys, and the check that turns a bearer token into a key.

`create_api_key` and `revoke_api_key` own their transaction and audit inside it.
`authenticate` is on the hot path of every SCIM and REST request: one cache round trip, one
SHA-256, one indexed query (apikeys/selectors.py) unless this process read the key recently and
nothing changed since (apikeys/key_cache.py), and at most one UPDATE a minute per key.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import Actor, ClientActor, Source, record_audit
from accounts.errors import Conflict, DomainError
from accounts.models import Company, User
from apikeys import key_cache, tokens
from apikeys.models import APIKey, Scope
from apikeys.throttle import FailureThrottle

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

    Raises Throttled while the client is blocked for too many failures, and AuthenticationFailed
    — saying nothing about why — for a malformed, unknown, wrong, revoked or expired key.
    Malformed, unknown and wrong keys count towards the client's block (guessing looks like
    that); a revoked or expired key does not (it is a stale configuration, often sent from an
    identity provider's address that other companies share), but is audited, once an hour.
    """
    ip = _valid_ip(client_ip)
    throttle = FailureThrottle()
    blocked_key = throttle.blocked_key(ip or "")
    # One round trip: is the client blocked, and under which epoch are cached keys still good.
    shared = throttle.cache.get_many([blocked_key, key_cache.EPOCH_KEY])
    wait = throttle.wait_for(shared.get(blocked_key))
    if wait is not None:
        raise Throttled(wait)

    parts = tokens.split_key(raw_key)
    key = None
    if parts is not None:
        key = key_cache.key_with_company(parts[0], shared.get(key_cache.EPOCH_KEY))
    presented = tokens.hash_key(raw_key) if parts is not None else ""
    expected = key.secret_hash if key is not None else _NO_SUCH_KEY_HASH
    matches = hmac.compare_digest(presented, expected)
    if key is None or not matches:
        if throttle.record_failure(ip or ""):
            record_audit(
                actor=_client_actor(ip),
                source=source,
                action="api_key.throttled",
                company=None,
                after={
                    "failures": throttle.limit,
                    "window_seconds": throttle.window,
                    "blocked_seconds": throttle.block,
                },
            )
        raise AuthenticationFailed

    now = timezone.now()
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


def _audit_refused_use(key: APIKey, ip: str | None, source: str, action: str) -> None:
    if not caches["default"].add(
        f"apikeys:refused-use-audited:{key.pk}:{action}", 1, timeout=REFUSED_USE_AUDIT_INTERVAL
    ):
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
