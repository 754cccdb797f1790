"""Every write of the SSO app: SAML settings, the replay store, SSO and password sign-ins.

Services own their transaction and audit inside it; refusals raise `DomainError` (nothing
written). Sign-in refusals raise `SignInRefused`, whose `reason` is a stable code the ACS records
in the audit log and whose `message` is what the person at the browser reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import domains
from accounts import services as accounts_services
from accounts.audit import Actor, ClientActor, Source, SystemActor, record_audit, record_change
from accounts.errors import Conflict, DomainError
from accounts.models import Company, LicenseType, Role, User, UserStatus
from core.cache import when_reachable
from members import services as member_services
from sso import settings_cache
from sso.certificates import certificate_info, normalize_certificate, parse_idp_metadata
from sso.models import SAMLConfig, SeenAssertion
from sso.selectors import member_by_email
from sso.throttle import AccountFailureThrottle, AddressFailureThrottle, RefusedSignInThrottle

CONTACT_ADMIN = "Please contact your company's Switchboard administrator."
FLAG_FIELDS = (
    "enabled",
    "enforce_sso",
    "allow_idp_initiated",
    "jit_provisioning",
    "allow_admin_password_login",
    "sign_requests",
)
TEXT_FIELDS = ("idp_entity_id", "idp_sso_url", "idp_slo_url", "jit_license_type")
CERT_FIELDS = ("idp_certificate", "idp_certificate_2")
CONFIG_FIELDS = (*TEXT_FIELDS, *CERT_FIELDS, *FLAG_FIELDS)
# A replayed assertion must be caught for as long as any clock could still accept it.
REPLAY_WINDOW_SLACK = dt.timedelta(minutes=5)
_LOOPBACK = {"localhost", "127.0.0.1", "[::1]", "::1"}

logger = logging.getLogger(__name__)


class SignInRefused(PermissionDenied):
    """A sign-in we refuse. A PermissionDenied so djangosaml2's ACS routes it to our handler."""

    def __init__(self, reason: str, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


# --- settings ---


def ensure_enterprise(company: Company) -> None:
    if not company.is_enterprise:
        raise DomainError(
            f"SAML single sign-on is an Enterprise feature; {company.name} is on the "
            f"{company.get_plan_display()} plan. Contact your account manager to upgrade.",
            field="enabled",
            code="plan",
        )


def _split_url(value: str) -> SplitResult | None:
    """The parts of a URL or URN, or None when `value` cannot be one: whitespace or control
    characters (urlsplit silently drops tabs and newlines, so they would pass unseen), an
    unclosed IPv6 bracket or a port out of range (urlsplit and .port raise ValueError)."""
    if any(char.isspace() or not char.isprintable() for char in value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        return None
    return parts


# SAML entity IDs and endpoints: long enough for any real one, short enough to store and show.
MAX_URI_LENGTH = 1024


def clean_entity_id(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(
            "Enter the IdP entity ID: OneLogin calls it the Issuer URL, such as "
            "https://app.onelogin.com/saml/metadata/1234.",
            field="idp_entity_id",
        )
    if len(value) > MAX_URI_LENGTH:
        raise DomainError(
            f"The IdP entity ID is {len(value):,} characters long; an entity ID has at most "
            f"{MAX_URI_LENGTH:,}. Copy OneLogin's Issuer URL again.",
            field="idp_entity_id",
        )
    parts = _split_url(value)
    is_url = parts is not None and parts.scheme in {"http", "https"} and bool(parts.netloc)
    is_urn = parts is not None and parts.scheme == "urn" and len(value) > 6
    if not (is_url or is_urn):
        raise DomainError(
            f"“{value[:100]}” is not a web address or URN. The IdP entity ID looks like "
            "https://app.onelogin.com/saml/metadata/1234 (OneLogin calls it the Issuer URL).",
            field="idp_entity_id",
        )
    ours = urlsplit(settings.PUBLIC_BASE_URL)
    if parts is not None and (parts.scheme, parts.netloc.lower()) == (
        ours.scheme,
        ours.netloc.lower(),
    ):
        raise DomainError(
            f"'{value[:100]}' is Switchboard's own address (our service provider metadata), not "
            "your identity provider's. Copy the IdP entity ID from your identity provider "
            "(OneLogin calls it the Issuer URL).",
            field="idp_entity_id",
        )
    return value


def clean_idp_url(value: str, *, field: str, required: bool) -> str:
    value = (value or "").strip()
    if not value:
        if required:
            raise DomainError("Enter the identity provider's SAML 2.0 endpoint.", field=field)
        return ""
    if len(value) > MAX_URI_LENGTH:
        raise DomainError(
            f"The address is {len(value):,} characters long; use at most {MAX_URI_LENGTH:,}.",
            field=field,
        )
    parts = _split_url(value)
    secure = parts is not None and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    )
    if parts is None or not secure or not parts.netloc or len(value) > 1024:
        raise DomainError(
            f"“{value[:100]}” is not an https:// address. Copy the URL from your identity provider "
            "(in OneLogin: SAML 2.0 Endpoint (HTTP) or SLO Endpoint).",
            field=field,
        )
    return value


def _audited(config: SAMLConfig) -> dict[str, Any]:
    """Settings as the audit log shows them: certificates by fingerprint, never their text."""
    values: dict[str, Any] = {name: getattr(config, name) for name in (*TEXT_FIELDS, *FLAG_FIELDS)}
    for name in CERT_FIELDS:
        pem = getattr(config, name)
        values[name] = certificate_info(pem).fingerprint_sha256 if pem else ""
    return values


def settings_fingerprint(config: SAMLConfig) -> str:
    """What a Test sign-in proves: these IdP settings (entity id, SSO URL, certificates)."""
    parts = [config.idp_entity_id, config.idp_sso_url, *config.certificates]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def configure_saml(
    *,
    company: Company,
    actor: Actor,
    source: str,
    metadata_xml: str | bytes | None = None,
    require_tested: bool = False,
    **fields: Any,
) -> SAMLConfig:
    """Create or change the company's SAML settings; only the given fields change.

    `metadata_xml` (the IdP's metadata) fills entity id, SSO/SLO URLs and certificates.
    Certificates are accepted as PEM or bare base64 and stored as PEM; a private key, a
    non-certificate, a non-URI entity id or a non-https URL raises DomainError and saves nothing.
    Enterprise plan only. Audited as `sso.configured` / `sso.settings_changed`.

    With `require_tested` (the settings page), Enforce SSO is switched on, or kept on while the
    IdP settings change, only for settings a Test sign-in succeeded with: otherwise an IdP that
    never worked could lock everyone out, company admins included.
    """
    unknown = set(fields) - set(CONFIG_FIELDS)
    if unknown:
        raise DomainError(f"Unknown SAML settings: {', '.join(sorted(unknown))}.")
    ensure_enterprise(company)
    if metadata_xml is not None and metadata_xml.strip():
        fields.update(_fields_from_metadata(metadata_xml))
    cleaned = _clean_settings(fields)

    with transaction.atomic():
        config = SAMLConfig.objects.select_for_update().filter(company=company).first()
        created = config is None
        if config is None:
            config = SAMLConfig(company=company)
        before = {} if created else _audited(config)
        before_fingerprint = "" if created else settings_fingerprint(config)
        for name, value in cleaned.items():
            setattr(config, name, value)
        _complete(config)
        if require_tested:
            _ensure_tested_before_enforcing(config, before, before_fingerprint)
        after = _audited(config)
        if not created and before == after:
            return config
        config.save()
        if _forbids_more_passwords(before, after):
            end_password_sessions(company=company, config=config, actor=actor, source=source)
        if created:
            record_audit(
                actor=actor,
                source=source,
                action="sso.configured",
                company=company,
                target=config,
                after=after,
            )
        else:
            record_change(
                actor=actor,
                source=source,
                action="sso.settings_changed",
                company=company,
                target=config,
                before=before,
                after=after,
            )
    return config


def _fields_from_metadata(metadata_xml: str | bytes) -> dict[str, str]:
    metadata = parse_idp_metadata(metadata_xml)
    return {
        "idp_entity_id": metadata.entity_id,
        "idp_sso_url": metadata.sso_url,
        "idp_slo_url": metadata.slo_url,
        "idp_certificate": metadata.certificates[0],
        "idp_certificate_2": metadata.certificates[1] if len(metadata.certificates) > 1 else "",
    }


def _clean_settings(fields: dict[str, Any]) -> dict[str, Any]:
    """The given settings, checked and in their stored form; DomainError for the first bad one."""
    cleaned: dict[str, Any] = {}
    if "idp_entity_id" in fields:
        cleaned["idp_entity_id"] = clean_entity_id(fields["idp_entity_id"])
    for name, required in (("idp_sso_url", True), ("idp_slo_url", False)):
        if name in fields:
            cleaned[name] = clean_idp_url(fields[name], field=name, required=required)
    # An emptied certificate field removes that certificate (the end of a rollover); the
    # service refuses to leave none.
    for name in CERT_FIELDS:
        if name in fields:
            text = (fields[name] or "").strip()
            cleaned[name] = normalize_certificate(text, field=name) if text else ""
    if "jit_license_type" in fields:
        cleaned["jit_license_type"] = accounts_services.clean_choice(
            fields["jit_license_type"], LicenseType, "jit_license_type"
        )
    for name in FLAG_FIELDS:
        if name in fields:
            cleaned[name] = bool(fields[name])
    return cleaned


def _complete(config: SAMLConfig) -> None:
    """Settings a sign-in can work with: an IdP entity id, SSO URL and certificate (the second
    one moves up when the first was removed), and SSO on before it is enforced."""
    if not config.idp_entity_id:
        raise DomainError("Enter the IdP entity ID (Issuer URL).", field="idp_entity_id")
    if not config.idp_sso_url:
        raise DomainError("Enter the IdP SSO URL (SAML 2.0 Endpoint).", field="idp_sso_url")
    if not config.idp_certificate:
        if not config.idp_certificate_2:
            raise DomainError(
                "Paste the identity provider's X.509 certificate.", field="idp_certificate"
            )
        # Rollover finished: the second becomes the only one.
        config.idp_certificate, config.idp_certificate_2 = config.idp_certificate_2, ""
    if config.idp_certificate == config.idp_certificate_2:
        config.idp_certificate_2 = ""
    if config.enforce_sso and not config.enabled:
        raise DomainError(
            "Turn on SSO before enforcing it, or nobody could sign in.", field="enforce_sso"
        )


def _ensure_tested_before_enforcing(
    config: SAMLConfig, before: dict[str, Any], before_fingerprint: str
) -> None:
    """Enforce SSO goes on, or stays on while the IdP settings change, only for settings a Test
    sign-in succeeded with."""
    fingerprint = settings_fingerprint(config)
    changes_enforced = not before.get("enforce_sso") or fingerprint != before_fingerprint
    if config.enforce_sso and changes_enforced and config.tested_fingerprint != fingerprint:
        raise DomainError(
            "Run Test sign-in with these identity provider settings, and see it succeed, "
            "before enforcing SSO: otherwise a mistake here could lock everyone out, company "
            "admins included. To change the identity provider while enforcing, turn Enforce "
            "SSO off, save, test, then turn it back on.",
            field="enforce_sso",
        )


def _forbids_more_passwords(before: dict[str, Any], after: dict[str, Any]) -> bool:
    if not after["enforce_sso"]:
        return False
    return not before.get("enforce_sso") or (
        before.get("allow_admin_password_login", False) and not after["allow_admin_password_login"]
    )


def end_password_sessions(
    *, company: Company, config: SAMLConfig, actor: Actor, source: str
) -> int:
    """End every open session of `company`'s people that began with a password which the
    company's settings now refuse (password_sign_in_policy 'refused'); returns how many.

    Sessions live in the database, so deleting their rows signs those people out of every web
    process at once. Sessions that began with the company's SSO stay, and so do break-glass
    admins' password sessions while break-glass is allowed. Audited as
    `sso.password_sessions_ended` with the count, in the caller's transaction.
    """
    from django.contrib.sessions.models import Session

    if not config.enforce_sso:
        return 0
    people = User.objects.filter(company=company, is_superuser=False)
    if config.allow_admin_password_login:
        people = people.exclude(role=Role.COMPANY_ADMIN)
    forbidden = {str(pk) for pk in people.values_list("pk", flat=True)}
    ended: list[str] = []
    # No index from a user to their sessions: each live session is read once (a few µs each).
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(2000):
        data = session.get_decoded()
        if data.get("_auth_user_id") in forbidden and data.get("sso_company") != company.slug:
            ended.append(session.session_key)
    Session.objects.filter(session_key__in=ended).delete()
    record_audit(
        actor=actor,
        source=source,
        action="sso.password_sessions_ended",
        company=company,
        target=config,
        after={
            "sessions_ended": len(ended),
            "break_glass_admins_kept": config.allow_admin_password_login,
        },
    )
    return len(ended)


def record_test_sign_in(
    *, company: Company, actor: Actor, source: str, outcome: dict[str, Any]
) -> bool:
    """Record a Test sign-in's outcome; True when it counts as a success of the current settings.

    `outcome` is what the ACS found ({"ok", "reason", "name_id", "fingerprint"}). A success for
    settings that have changed since does not count. Audited as `sso.test_sign_in`.
    """
    with transaction.atomic():
        config = SAMLConfig.objects.select_for_update().filter(company=company).first()
        if config is None:
            return False
        ok = bool(outcome.get("ok")) and outcome.get("fingerprint") == settings_fingerprint(config)
        if ok:
            config.tested_fingerprint = settings_fingerprint(config)
            config.tested_at = timezone.now()
            config.save(update_fields=["tested_fingerprint", "tested_at", "updated_at"])
        record_audit(
            actor=actor,
            source=source,
            action="sso.test_sign_in",
            company=company,
            target=config,
            after={
                "ok": ok,
                "reason": str(outcome.get("reason") or "")[:100],
                "name_id": str(outcome.get("name_id") or "")[:254] if ok else "",
            },
        )
    return ok


# --- the replay store ---


def consume_assertion(*, company: Company, assertion_id: str, not_on_or_after: dt.datetime) -> None:
    """Record an assertion id as used; raise SignInRefused('replay') if it was used before.

    Kept until `not_on_or_after` (the ACS passes the earlier of its expiry and the end of its
    acceptable age) plus slack for clock skew, in the database so every web process shares it;
    the unique constraint decides races. In the caller's transaction (the ACS's sign-in) it
    takes no savepoint: a replay refuses the sign-in, so the caller's writes roll back with it.
    """
    slack = max(REPLAY_WINDOW_SLACK, dt.timedelta(seconds=settings.SAML_CLOCK_SKEW))
    seen = SeenAssertion(
        company=company, assertion_id=assertion_id[:256], not_on_or_after=not_on_or_after + slack
    )
    try:
        with transaction.atomic(savepoint=False):
            seen.save(force_insert=True)
    except IntegrityError:
        raise SignInRefused(
            "replay",
            "This sign-in link was already used. Start again from your identity provider.",
        ) from None


def purge_seen_assertions(*, now: dt.datetime | None = None) -> int:
    """Delete replay-store rows past their expiry; returns how many. Celery beat calls this."""
    deleted, _ = SeenAssertion.objects.filter(not_on_or_after__lt=now or timezone.now()).delete()
    return deleted


# --- who gets in ---

JIT_ACTOR = SystemActor("SAML just-in-time provisioning")
_GIVEN = ("givenName", "firstName", "first_name", "User.FirstName", "givenname")
_FAMILY = ("sn", "surname", "lastName", "last_name", "User.LastName", "surname")


def _first(attributes: dict[str, list[str]], names: tuple[str, ...]) -> str:
    lowered = {key.lower().rsplit("/", 1)[-1]: value for key, value in attributes.items()}
    for name in names:
        values = attributes.get(name) or lowered.get(name.lower())
        if values:
            return str(values[0])[:150]
    return ""


def user_for_saml_sign_in(
    *, company: Company, config: SAMLConfig, name_id: str, attributes: dict[str, list[str]]
) -> User:
    """The user of `company` the IdP vouched for, created just in time when the company allows.

    Raises SignInRefused for unknown (without JIT), suspended and pending users.
    """
    email = (name_id or "").strip()
    try:
        email = accounts_services.clean_email(email)
    except DomainError:
        raise SignInRefused(
            "bad_name_id",
            "Your identity provider did not send an email address as your user name. "
            + CONTACT_ADMIN,
        ) from None
    user = member_by_email(company, email)
    if user is None:
        if not config.jit_provisioning:
            raise SignInRefused(
                "unknown_user",
                f"There is no Switchboard account for {email} at {company.name}. " + CONTACT_ADMIN,
            )
        user = _provision_just_in_time(
            company=company, config=config, email=email, attributes=attributes
        )
    if user.status == UserStatus.SUSPENDED:
        raise SignInRefused("suspended", "Your Switchboard account is suspended. " + CONTACT_ADMIN)
    if user.status == UserStatus.PENDING:
        raise SignInRefused(
            "pending", "Your Switchboard account is waiting for approval. " + CONTACT_ADMIN
        )
    return user


def _provision_just_in_time(
    *, company: Company, config: SAMLConfig, email: str, attributes: dict[str, list[str]]
) -> User:
    # Only in the company's own verified domains: never in another's, nor in a mere claim.
    claim = domains.verified_claim_for(domains.email_domain(email))
    if claim is None or claim.company_id != company.pk:
        raise SignInRefused(
            "jit_foreign_domain",
            f"{email} is not in one of {company.name}'s verified email domains, so no account "
            "can be created for it automatically. " + CONTACT_ADMIN,
        )
    try:
        # No free seat refuses the whole creation: nobody half-made is left behind.
        return member_services.create_member(
            company=company,
            email=email,
            actor=JIT_ACTOR,
            source=Source.SSO,
            license_type=config.jit_license_type,
            given_name=_first(attributes, _GIVEN),
            family_name=_first(attributes, _FAMILY),
        )
    except DomainError as error:
        if isinstance(error, Conflict) and error.field == "email":
            # Another first sign-in of the same person (a double click on the IdP tile) created
            # the account between our lookup and our insert: this one signs in as that user.
            existing = member_by_email(company, email)
            if existing is not None:
                return existing
        if error.code == "no_free_seats":
            raise SignInRefused(
                "no_free_license",
                f"{company.name} has no free license for a new account right now. " + CONTACT_ADMIN,
            ) from None
        raise SignInRefused(
            "jit_refused",
            f"Your account could not be created automatically: {error.message} " + CONTACT_ADMIN,
        ) from None


def record_sign_in(
    *,
    user: User,
    company: Company | None,
    source: str,
    method: str,
    client_ip: str | None,
    detail: dict[str, Any],
) -> None:
    """Audit a successful sign-in (`sso` or `password`, `break_glass` for enforced companies)
    of `user` at `company`, their own (the caller has it at hand: no query for it here)."""
    record_audit(
        actor=user,
        source=source,
        action=f"auth.sign_in.{method}",
        company=company,
        target=user,
        after=detail or None,
        client_ip=client_ip,
    )


def record_sign_out(
    *, user: User, client_ip: str | None, detail: dict[str, Any] | None = None
) -> None:
    """Audit a sign-out; `detail` says when the IdP asked for it (and how it was signed)."""
    record_audit(
        actor=user,
        source="sso" if user.company_id else "admin",
        action="auth.sign_out",
        company=user.company,
        target=user,
        after=detail or None,
        client_ip=client_ip,
    )


def record_unverified_logout_request(
    *, user: User, client_ip: str | None, signature: str, issuer: str
) -> None:
    """Audit an IdP LogoutRequest for the signed-in user that is not signed by the company's
    IdP (`signature`: missing, invalid, weak_algorithm): nobody was signed out, the person was
    asked to confirm. Any web page can send one, so a run of these is worth a look."""
    record_audit(
        actor=user,
        source=Source.SSO,
        action="auth.sign_out_unverified",
        company=user.company,
        target=user,
        after={"signature": signature, "issuer": issuer[:300]},
        client_ip=client_ip,
    )


def record_refusal(
    *,
    company: Company | None,
    actor: Actor,
    source: str,
    reason: str,
    detail: dict[str, Any],
    client_ip: str | None = None,
) -> None:
    record_audit(
        actor=actor,
        source=source,
        action="auth.sign_in_refused",
        company=company,
        after={"reason": reason, **detail},
        client_ip=client_ip,
    )


# --- the ACS's refusal budget ---


def acs_shared_state(*, client_ip: str | None) -> tuple[int | None, Any]:
    """What the ACS asks the shared cache first, in one round trip: seconds until it reads
    responses from `client_ip` again (None: not blocked), and the SAML settings epoch
    (sso/settings_cache.py). The budget keeps the audit log from floods; with the shared cache
    down it is not kept, the settings are read from the database, and people still sign in
    (the ACS needs only the database)."""
    throttle = RefusedSignInThrottle()
    blocked_key = throttle.blocked_key(client_ip or "")
    shared: dict[str, Any] = when_reachable(
        lambda: throttle.cache.get_many([blocked_key, settings_cache.EPOCH_KEY]),
        fallback={},
        skipped=f"{throttle.namespace} blocks are not enforced and SAML settings are read "
        "from the database",
    )
    return throttle.wait_for(shared.get(blocked_key)), shared.get(settings_cache.EPOCH_KEY)


def count_refused_sign_in(*, slug: str, client_ip: str | None) -> int | None:
    """Count a refused SAML response against the client address (after its own
    `auth.sign_in_refused`). Audits the block it starts, once per block whichever process sees
    it (`auth.sso_throttled`, under no company: the address is blocked at every company's ACS).
    Returns the seconds of a block it started, else None."""
    throttle = RefusedSignInThrottle()
    if not throttle.record_failure(client_ip or ""):
        return None
    record_audit(
        actor=ClientActor(client_ip or "unknown"),
        source=Source.SSO,
        action="auth.sso_throttled",
        company=None,
        after={
            "blocked": "address",
            "at": slug,
            "refusals": throttle.limit,
            "window_seconds": throttle.window,
            "blocked_seconds": throttle.block,
        },
    )
    return throttle.block


# --- password sign-in policy ---


def saml_config_for(company: Company | None) -> SAMLConfig | None:
    """The company's SAML settings if SSO is on and the plan includes it, else None.

    Read through `company.saml_config`: no query when the company was loaded with
    `select_related("saml_config")`, as the SSO doors load it."""
    if company is None or not company.is_enterprise:
        return None
    config = getattr(company, "saml_config", None)  # None: no settings saved
    return config if config is not None and config.enabled else None


def password_sign_in_policy(user: User) -> str:
    """'allowed', 'break_glass' (a company admin of an SSO-enforcing company) or 'refused'."""
    config = saml_config_for(user.company)
    if config is None or not config.enforce_sso or user.is_superuser:
        return "allowed"
    if user.role == Role.COMPANY_ADMIN and config.allow_admin_password_login:
        return "break_glass"
    return "refused"


# --- password sign-in throttle ---


def password_sign_in_blocked_for(*, email: str, client_ip: str | None) -> int | None:
    """Seconds until a password for `email` from `client_ip` may be tried again, or None.

    Either block counts: the account's (too many wrong passwords for this email, from anywhere)
    or the address's (too many from this client, for any accounts)."""
    waits = [
        AccountFailureThrottle().blocked_for(email),
        AddressFailureThrottle().blocked_for(client_ip or ""),
    ]
    return max((wait for wait in waits if wait is not None), default=None)


def record_password_failure(
    *, email: str, company: Company | None, client_ip: str | None
) -> int | None:
    """Count a wrong password against the account and the client address.

    Audits each block it starts, once per block whichever process sees it (`auth.login_throttled`;
    an account's block under the email's company, an address's under none: it blocks that
    address for every company). Returns the seconds of a block it started, else None.
    """
    actor = ClientActor(client_ip or "unknown")
    started: list[int] = []
    account, address = AccountFailureThrottle(), AddressFailureThrottle()
    for blocked, throttle, subject, owner, detail in (
        ("account", account, email, company, {"email": email[:254]}),
        ("address", address, client_ip or "", None, {}),
    ):
        if throttle.record_failure(subject):
            record_audit(
                actor=actor,
                source=Source.ADMIN,
                action="auth.login_throttled",
                company=owner,
                after={
                    "blocked": blocked,
                    **detail,
                    "failures": throttle.limit,
                    "window_seconds": throttle.window,
                    "blocked_seconds": throttle.block,
                },
            )
            started.append(throttle.block)
    return max(started, default=None)


def clear_password_failures(*, email: str) -> None:
    """After a right password: the account's wrong guesses so far no longer count against it.
    The client address's count stays (it may be guessing other accounts)."""
    AccountFailureThrottle().clear_failures(email)
