"""The SSO doors: SP metadata, SP-initiated login, the hardened ACS, single logout, /login/,
/app/ and sign-out. Thin: they translate HTTP and call `sso.services`."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import saml2
from django.conf import settings
from django.contrib import auth
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from djangosaml2.cache import OutstandingQueriesCache
from djangosaml2.overrides import Saml2Client
from djangosaml2.utils import get_location
from djangosaml2.views import LoginView, MetadataView, SPConfigMixin
from saml2.metadata import entity_descriptor
from saml2.response import (
    IncorrectlySigned,
    StatusError,
    UnsolicitedResponse,
    VerificationError,
)
from saml2.sigver import MissingKey, SignatureError
from saml2.validate import ResponseLifetimeExceed, ToEarly
from saml2.xmldsig import SIG_RSA_SHA256

from accounts import domains
from accounts.admin_site import is_company_approver
from accounts.audit import ClientActor, Source
from accounts.models import Company, User
from core.request_context import client_ip as request_client_ip
from sso import services, settings_cache
from sso.assertions import (
    NOT_FOR_US,
    AcceptedIdentity,
    Expectations,
    TimeBounds,
    check_response,
    idp_initiated_refused,
    unknown_in_response_to,
    wrong_audience,
)
from sso.forms import EmailForm, PasswordForm
from sso.inspection import (
    DIGEST_ALGORITHMS,
    SIGNATURE_ALGORITHMS,
    InspectedResponse,
    inspect_saml_response,
)
from sso.models import SAMLConfig
from sso.saml import (
    LogoutRequest,
    read_logout_request,
    saml_client,
    sp_acs_url,
    sp_entity_id,
)
from sso.selectors import company_with_saml_config
from sso.services import CONTACT_ADMIN, SignInRefused

logger = logging.getLogger(__name__)

HOME = "/app/"
# The ACS reads the body only below this size; a bigger POST is refused before parsing.
MAX_ACS_BODY_BYTES = 512 * 1024


def client_ip(request: HttpRequest) -> str | None:
    # The shared rule (trusted proxies' X-Forwarded-For), as the request log uses it.
    return request_client_ip(request) or None


def safe_next(value: str | None, default: str = HOME) -> str:
    """A relative path on this site, or the default: RelayState and next never leave the site."""
    value = (value or "").strip()
    if (
        value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(value, allowed_hosts=set(), require_https=False)
    ):
        return value
    return default


def error_page(
    request: HttpRequest, message: str, *, status: int = 403, title: str = "You can't sign in"
) -> HttpResponse:
    return render(
        request,
        "sso/error.html",
        {"title": title, "message": message, "login_url": reverse("login")},
        status=status,
    )


def _company_or_404(company: Company | None) -> Company:
    if company is None:
        raise Http404("No such company.")
    return company


class CompanySPMixin:
    """Binds the company of /sso/<slug>/ and its SAML settings for djangosaml2's loader."""

    config_loader_path = "sso.saml.config_loader"

    def bind_company(
        self, request: HttpRequest, found: Company | None
    ) -> tuple[Company, SAMLConfig | None]:
        """`found`: the company read with its SAML settings (every SSO door reads them), or
        None for a slug no company has (404)."""
        company = _company_or_404(found)
        config = services.saml_config_for(company)
        request.saml_company = company  # type: ignore[attr-defined]
        request.saml_config = config  # type: ignore[attr-defined]
        return company, config


@method_decorator(never_cache, name="dispatch")
class SPMetadataView(CompanySPMixin, MetadataView):
    def get(self, request: HttpRequest, *args: Any, slug: str = "", **kwargs: Any) -> HttpResponse:
        company = _company_or_404(company_with_saml_config(slug))
        if not company.is_enterprise:
            raise Http404("SAML single sign-on is not available for this company.")
        request.saml_company = company  # type: ignore[attr-defined]
        # The SP metadata describes us only: it is published before the IdP is configured.
        request.saml_config = None  # type: ignore[attr-defined]
        metadata = entity_descriptor(self.get_sp_config(request))
        _advertise_only_accepted_algorithms(metadata)
        return HttpResponse(
            str(metadata).encode("utf-8"),
            content_type="application/samlmetadata+xml; charset=utf-8",
        )


ALGSUPPORT = "urn:oasis:names:tc:SAML:metadata:algsupport"


def _advertise_only_accepted_algorithms(metadata: Any) -> None:
    """pysaml2 lists every algorithm xmlsec1 knows (MD5, SHA-1 …); we accept SHA-256 and up."""
    if metadata.extensions is None:
        return
    accepted = SIGNATURE_ALGORITHMS | DIGEST_ALGORITHMS
    metadata.extensions.extension_elements = [
        element
        for element in metadata.extensions.extension_elements
        if element.namespace != ALGSUPPORT or element.attributes.get("Algorithm") in accepted
    ]


@method_decorator(never_cache, name="dispatch")
class SPLoginView(CompanySPMixin, LoginView):
    """SP-initiated sign-in: an AuthnRequest to the company's IdP over HTTP-Redirect.

    djangosaml2 remembers the request id in the SAML session (its own SameSite=None cookie, so
    it survives the IdP's cross-site POST) for the ACS to match InResponseTo against.
    """

    def get(self, request: HttpRequest, *args: Any, slug: str = "", **kwargs: Any) -> HttpResponse:
        company, config = self.bind_company(request, company_with_saml_config(slug))
        if config is None:
            return error_page(
                request,
                f"Single sign-on is not set up for {company.name}. " + CONTACT_ADMIN,
            )
        # Only a relative next survives; djangosaml2 sends it to the IdP as RelayState.
        query = QueryDict(mutable=True)
        query["next"] = safe_next(request.GET.get("next"))
        request.GET = query  # type: ignore[assignment]
        return super().get(request)


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class ACSView(CompanySPMixin, SPConfigMixin, View):
    """The Assertion Consumer Service ("SP SSO URL"): checks, signs the user in, or refuses.

    Top to bottom: the refusal budget, the body, `inspect_saml_response` (shape, DTDs, wrapping,
    algorithms), pysaml2's parse and signature check, `sso.assertions.check_response` (our
    checks), the replay store, the user of this company, sign-in, redirect. Every refusal is a
    friendly page, an AuditEvent, and nobody signed in. The answer to an admin's Test sign-in
    goes through the same checks and back to the settings page, signing nobody in.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, slug: str = "", **kwargs: Any) -> HttpResponse:
        wait, settings_epoch = services.acs_shared_state(client_ip=client_ip(request))
        # Blocked for too many refusals: nothing is read, parsed or audited.
        if wait is not None:
            return too_many_refusals(request, wait)
        # The settings as this process last read them, unless a change committed since.
        found = settings_cache.company_with_saml_config(slug, settings_epoch)
        self.company, self.config = self.bind_company(request, found)
        self.outstanding: dict[str, Any] = {}
        self.inspected: InspectedResponse | None = None
        try:
            encoded, config = self.read_saml_response(request)
            if config is None:  # the answer to an admin's Test sign-in
                return self.finish_test_sign_in(request, encoded)
            accepted = self.accept(request, encoded, config)
            self.sign_in(request, accepted, config)
        except SignInRefused as refusal:
            return self.refuse(refusal, self.inspected)
        return HttpResponseRedirect(safe_next(request.POST.get("RelayState") or accepted.came_from))

    def read_saml_response(self, request: HttpRequest) -> tuple[str, SAMLConfig | None]:
        """The SAMLResponse, inspected, and the settings to sign in with; None for the answer
        to a Test sign-in of this company started in this browser (SSO need not be on yet)."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        try:
            if length > MAX_ACS_BODY_BYTES:
                raise RequestDataTooBig()
            encoded = request.POST.get("SAMLResponse")
        except RequestDataTooBig:
            raise SignInRefused(
                "too_large", "The sign-in request is too large.", status=413
            ) from None
        if not encoded:
            raise SignInRefused(
                "missing_response",
                "No SAML response arrived. Start again from your identity provider.",
                status=400,
            )
        tests = pending_tests(request, self.company)
        if self.config is None and not tests:
            raise SignInRefused(
                "sso_not_enabled",
                f"Single sign-on is not turned on for {self.company.name}. " + CONTACT_ADMIN,
            )
        self.inspected = inspect_saml_response(encoded)
        if self.inspected.in_response_to in tests:
            return encoded, None
        if self.config is None:
            raise SignInRefused(
                "sso_not_enabled",
                f"Single sign-on is not turned on for {self.company.name}. " + CONTACT_ADMIN,
            )
        return encoded, self.config

    def finish_test_sign_in(self, request: HttpRequest, encoded: str) -> HttpResponse:
        """Every check of a real sign-in, nobody signed in: the outcome goes back to the
        settings page (which records it for the admin) through the SAML session."""
        request_id = self.inspected.in_response_to if self.inspected is not None else ""
        config = SAMLConfig.objects.filter(company=self.company).first()
        outcome: dict[str, Any]
        try:
            if config is None:
                raise _tampered("sso_not_enabled")
            request.saml_config = config  # type: ignore[attr-defined]  # enabled or not
            accepted = self.accept(request, encoded, config)
            self.use_up(accepted)
            identity = accepted.identity
            outcome = {
                "ok": True,
                "name_id": identity.name_id,
                "attributes": {
                    name[:200]: [str(value)[:200] for value in values[:10]]
                    for name, values in list(identity.attributes.items())[:30]
                },
                "fingerprint": services.settings_fingerprint(config),
            }
        except SignInRefused as refusal:
            message = refusal.message.replace(CONTACT_ADMIN, "").strip()
            hint = TEST_HINTS.get(refusal.reason, "")
            outcome = {"ok": False, "reason": refusal.reason, "message": f"{message} {hint}"}
        saml_session = request.saml_session  # type: ignore[attr-defined]
        OutstandingQueriesCache(saml_session).delete(request_id)
        tests = dict(saml_session.get(TEST_REQUESTS) or {})
        tests.pop(request_id, None)
        saml_session[TEST_REQUESTS] = tests
        outcomes = dict(saml_session.get(TEST_OUTCOMES) or {})
        outcomes[self.company.slug] = outcome
        saml_session[TEST_OUTCOMES] = outcomes
        logger.info("SAML test sign-in for %s: %s", self.company.slug, outcome.get("reason", "ok"))
        return redirect(test_return_url(self.company))

    def accept(self, request: HttpRequest, encoded: str, config: SAMLConfig) -> AcceptedSignIn:
        """pysaml2's parse and signature check, then ours; the caller then uses it up."""
        # pysaml2's identity cache stays in memory (our own session keys serve sign-out), and
        # the SAML session is written only when an answered request leaves it: an IdP-initiated
        # sign-in stores no SAML session at all.
        client = saml_client(self.get_sp_config(request))
        queries = OutstandingQueriesCache(request.saml_session)  # type: ignore[attr-defined]
        self.outstanding = queries.outstanding_queries()
        try:
            response = client.parse_authn_request_response(
                encoded, saml2.BINDING_HTTP_POST, self.outstanding
            )
        except Exception as error:  # every pysaml2 refusal, whatever its class
            logger.debug("pysaml2 refused a SAML response for %s", self.company.slug, exc_info=True)
            raise _refusal_for(error, self.inspected, self.company) from None
        if response is None:
            raise _tampered("invalid_response")
        result = check_response(
            response,
            Expectations(
                acs_url=sp_acs_url(self.company.slug),
                entity_id=sp_entity_id(self.company.slug),
                idp_entity_id=config.idp_entity_id,
                allow_idp_initiated=config.allow_idp_initiated,
                company_name=self.company.name,
                outstanding=self.outstanding,
                now=timezone.now(),
                bounds=time_bounds(),
            ),
        )
        if isinstance(result, SignInRefused):
            raise result
        return AcceptedSignIn(
            result, came_from=response.came_from or "", request_id=response.session_id() or ""
        )

    def use_up(self, accepted: AcceptedSignIn) -> None:
        """The assertion into the replay store (refused if it is there), then the request it
        answers out of the SAML session."""
        services.consume_assertion(
            company=self.company,
            assertion_id=accepted.identity.assertion_id,
            not_on_or_after=accepted.identity.remember_until,
        )
        queries = OutstandingQueriesCache(self.request.saml_session)  # type: ignore[attr-defined]
        queries.delete(accepted.request_id)

    def sign_in(self, request: HttpRequest, accepted: AcceptedSignIn, config: SAMLConfig) -> User:
        """Uses the assertion up and signs its user in. The writes (the replay store,
        `last_login`, the audit row) share one transaction: one commit instead of three. A
        refused user (unknown, suspended, pending) still uses the assertion up."""
        identity = accepted.identity
        refused: SignInRefused | None = None
        with transaction.atomic():
            self.use_up(accepted)
            try:
                user = services.user_for_saml_sign_in(
                    company=self.company,
                    config=config,
                    name_id=identity.name_id,
                    attributes=identity.attributes,
                )
            except SignInRefused as refusal:
                refused = refusal  # raised once the replay store's row is committed
            else:
                self.start_session(request, user, identity)
        if refused is not None:
            raise refused
        return user

    def start_session(self, request: HttpRequest, user: User, identity: AcceptedIdentity) -> None:
        auth.login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        request.session["sso_company"] = self.company.slug
        request.session["sso_name_id"] = identity.name_id
        request.session["sso_name_id_format"] = identity.name_id_format
        request.session["sso_session_index"] = identity.session_index
        services.record_sign_in(
            user=user,
            company=self.company,
            source=Source.SSO,
            method="sso",
            client_ip=client_ip(request),
            detail={
                "idp_initiated": identity.idp_initiated,
                "assertion_id": identity.assertion_id,
            },
        )

    def refuse(
        self, refusal: SignInRefused, inspected: InspectedResponse | None = None
    ) -> HttpResponse:
        # Only what was checked is written to the audit log: the issuer when it is the
        # company's IdP, InResponseTo when it answers a request of ours.
        detail: dict[str, Any] = {"message": refusal.message[:300]}
        if inspected is not None and self.config is not None:
            if inspected.issuer and inspected.issuer == self.config.idp_entity_id:
                detail["issuer"] = inspected.issuer
            if inspected.in_response_to and inspected.in_response_to in self.outstanding:
                detail["in_response_to"] = inspected.in_response_to
        logger.warning("SAML sign-in refused for %s: %s", self.company.slug, refusal.reason)
        ip = client_ip(self.request)
        services.record_refusal(
            company=self.company,
            actor=ClientActor(ip or "unknown"),
            source=Source.SSO,
            reason=refusal.reason,
            detail=detail,
        )
        services.count_refused_sign_in(slug=self.company.slug, client_ip=ip)
        return error_page(self.request, refusal.message, status=refusal.status)


# In the SAML session (djangosaml2's SameSite=None cookie, which the IdP's POST carries): the
# request ids of Test sign-ins started in this browser (→ company slug), and their outcomes.
# What a failed Test sign-in most likely means, for the admin reading it.
TEST_HINTS = {
    "bad_signature": "Check the certificate: it must be the one your identity provider signs "
    "with (OneLogin: X.509 Certificate).",
    "wrong_audience": "Check the SP entity ID (Audience) in your identity provider.",
    "wrong_recipient": "Check the SP SSO URL (ACS, Recipient) in your identity provider.",
    "no_valid_assertion": "Check the SP SSO URL (ACS) in your identity provider.",
    "wrong_issuer": "Check the IdP entity ID (Issuer URL) saved here.",
    "unknown_user": "The person you signed in as has no account here; turn on just-in-time "
    "creation or test with an existing user.",
}
TEST_REQUESTS = "sso_test_requests"
TEST_OUTCOMES = "sso_test_outcomes"


def pending_tests(request: HttpRequest, company: Company) -> set[str]:
    tests = request.saml_session.get(TEST_REQUESTS) or {}  # type: ignore[attr-defined]
    return {request_id for request_id, slug in tests.items() if slug == company.slug}


def test_return_url(company: Company) -> str:
    return f"{reverse('sso_settings')}?{urlencode({'company': company.slug})}"


def start_test_sign_in(request: HttpRequest, company: Company, config: SAMLConfig) -> HttpResponse:
    """An SP-initiated round trip to the company's IdP with its saved settings, whatever
    Enforce SSO and "SSO enabled" say; the ACS sends the outcome back to the settings page."""
    from sso.saml import build_sp_config

    client = saml_client(build_sp_config(company.slug, config))
    sign = bool(getattr(client.config, "_sp_authn_requests_signed", False))
    request_id, info = client.prepare_for_authenticate(
        entityid=config.idp_entity_id,
        relay_state="",
        binding=saml2.BINDING_HTTP_REDIRECT,
        sign=sign,
        sigalg=SIG_RSA_SHA256 if sign else None,
    )
    saml_session = request.saml_session  # type: ignore[attr-defined]
    OutstandingQueriesCache(saml_session).set(request_id, test_return_url(company))
    tests = dict(saml_session.get(TEST_REQUESTS) or {})
    tests[request_id] = company.slug
    saml_session[TEST_REQUESTS] = dict(list(tests.items())[-5:])  # a few open at most
    return HttpResponseRedirect(get_location(info))


def take_test_outcome(request: HttpRequest, company: Company) -> dict[str, Any] | None:
    saml_session = request.saml_session  # type: ignore[attr-defined]
    outcomes = dict(saml_session.get(TEST_OUTCOMES) or {})
    outcome = outcomes.pop(company.slug, None)
    if outcome is not None:
        saml_session[TEST_OUTCOMES] = outcomes
    return outcome


@dataclass(frozen=True)
class AcceptedSignIn:
    identity: AcceptedIdentity
    came_from: str = ""
    request_id: str = ""  # the AuthnRequest it answers; empty when IdP-initiated


def time_bounds() -> TimeBounds:
    return TimeBounds(
        clock_skew=dt.timedelta(seconds=settings.SAML_CLOCK_SKEW),
        max_age=dt.timedelta(seconds=settings.SAML_MAX_AGE),
        max_validity=dt.timedelta(seconds=settings.SAML_MAX_VALIDITY),
    )


def too_many_refusals(request: HttpRequest, wait: int) -> HttpResponse:
    """429 with Retry-After for an address whose SAML responses kept being refused."""
    minutes = math.ceil(wait / 60)
    response = error_page(
        request,
        "Too many sign-ins from your network were refused in the last few minutes. "
        f"Try again in {minutes} minute{pluralize(minutes)}.",
        status=429,
        title="Too many sign-in attempts",
    )
    response["Retry-After"] = str(wait)
    return response


def _refusal_for(
    exception: Any, inspected: InspectedResponse | None, company: Company
) -> SignInRefused:
    """A pysaml2 exception as a refusal with a stable reason code."""
    if isinstance(exception, SignInRefused):
        return exception
    text = str(exception or "")
    if isinstance(exception, SignatureError | MissingKey | IncorrectlySigned):
        return _tampered("bad_signature")
    if isinstance(exception, UnsolicitedResponse):
        if inspected is not None and not inspected.in_response_to:
            return idp_initiated_refused(company.name)
        return unknown_in_response_to()
    if isinstance(exception, ResponseLifetimeExceed):
        return SignInRefused("expired", "This sign-in has expired. Please sign in again.")
    if isinstance(exception, ToEarly):
        return SignInRefused(
            "not_yet_valid", "This sign-in is not valid yet: check the identity provider's clock."
        )
    if "AudienceRestrictions" in text:
        return wrong_audience()
    if isinstance(exception, VerificationError) and "recipient" in text.lower():
        return SignInRefused("wrong_recipient", NOT_FOR_US)
    if isinstance(exception, StatusError):
        return SignInRefused(
            "idp_refused", "Your identity provider did not sign you in. " + CONTACT_ADMIN
        )
    if "Combination of session id" in text:
        return unknown_in_response_to()
    return _tampered("invalid_response")


def _tampered(reason: str) -> SignInRefused:
    return SignInRefused(
        reason,
        "The sign-in response could not be verified, so nobody was signed in. " + CONTACT_ADMIN,
    )


# --- single logout ---


# The encoded LogoutRequest kept in the session while the person confirms; a bigger one is
# answered without asking (nobody is signed out).
MAX_PENDING_LOGOUT_CHARS = 16 * 1024
PENDING_LOGOUT = "sso_pending_logout"


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class SingleLogoutView(CompanySPMixin, SPConfigMixin, View):
    """/sso/<slug>/sls/: the IdP's answer to our LogoutRequest, or its own LogoutRequest.

    Our own sign-out ended the session before it sent the LogoutRequest, so the answer just lands
    on the sign-in page. An IdP's LogoutRequest for the signed-in user signs out at once only
    when the company's IdP signed it (the SAML profiles require the IdP to sign or otherwise
    authenticate it): anything else may come from any web page (a link, an image), so the person
    is asked to confirm on a CSRF-protected form (`ConfirmLogoutView`). IdPs that do not sign
    their LogoutRequests still work, with one click more.
    """

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, *args: Any, slug: str = "", **kwargs: Any) -> HttpResponse:
        return self.handle(request, request.GET, saml2.BINDING_HTTP_REDIRECT, slug)

    def post(self, request: HttpRequest, *args: Any, slug: str = "", **kwargs: Any) -> HttpResponse:
        return self.handle(request, request.POST, saml2.BINDING_HTTP_POST, slug)

    def handle(
        self, request: HttpRequest, data: QueryDict, binding: str, slug: str
    ) -> HttpResponse:
        company, config = self.bind_company(request, company_with_saml_config(slug))
        if "SAMLRequest" not in data:
            # The IdP's answer to our LogoutRequest: we signed the user out before sending it.
            return redirect(f"{reverse('login')}?signed_out=1")
        if config is None:
            return error_page(request, "Single sign-on is not set up here.", status=400)
        encoded = data.get("SAMLRequest") or ""
        client = saml_client(self.get_sp_config(request))
        try:
            if len(encoded) > MAX_PENDING_LOGOUT_CHARS:
                raise ValueError("too large")
            logout_request = read_logout_request(
                client, config, encoded, binding, request.META.get("QUERY_STRING", "")
            )
        except ValueError:  # malformed, or not a LogoutRequest at all
            logger.info("Unusable SAML LogoutRequest for %s", slug, exc_info=True)
            return error_page(
                request, "That sign-out request could not be read.", status=400, title="Sign out"
            )
        relay_state = data.get("RelayState", "")
        # The company's own IdP ends only the session it started, for the user it names.
        if not (
            logout_request.issuer == config.idp_entity_id
            and request.user.is_authenticated
            and request.session.get("sso_company") == company.slug
            and logout_request.name_id
            and logout_request.name_id == request.session.get("sso_name_id")
        ):
            return _answer_idp(client, config, logout_request, relay_state)
        if logout_request.verified:
            sign_out(request, detail={"initiated_by": "identity_provider", "signature": "valid"})
            return _answer_idp(client, config, logout_request, relay_state)
        logger.warning(
            "Unverified SAML LogoutRequest for %s (%s): asking before signing out",
            slug,
            logout_request.signature,
        )
        services.record_unverified_logout_request(
            user=request.user,
            client_ip=client_ip(request),
            signature=logout_request.signature,
            issuer=logout_request.issuer,
        )
        request.session[PENDING_LOGOUT] = {
            "company": company.slug,
            "request": encoded,
            "binding": binding,
            "relay_state": relay_state[:1024],
            "signature": logout_request.signature,
        }
        return render(
            request,
            "sso/confirm_logout.html",
            {"company": company, "confirm_url": reverse("sso:sls_confirm", args=[company.slug])},
        )


@method_decorator(never_cache, name="dispatch")
class ConfirmLogoutView(CompanySPMixin, SPConfigMixin, View):
    """The person's own POST (with Django's CSRF token) confirming an unverified IdP sign-out:
    signs out, then answers the IdP's LogoutRequest when one is pending."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, slug: str = "", **kwargs: Any) -> HttpResponse:
        company, config = self.bind_company(request, company_with_saml_config(slug))
        pending = request.session.get(PENDING_LOGOUT) or {}
        signature = pending.get("signature", "missing")
        logout_request = None
        client = saml_client(self.get_sp_config(request))
        if config is not None and pending.get("company") == company.slug:
            try:
                logout_request = read_logout_request(
                    client, config, pending["request"], pending["binding"]
                )
            except (KeyError, ValueError):
                logout_request = None
        sign_out(
            request,
            detail={"initiated_by": "identity_provider", "signature": signature, "confirmed": True},
        )
        if config is None or logout_request is None:
            return redirect(f"{reverse('login')}?signed_out=1")
        return _answer_idp(client, config, logout_request, pending.get("relay_state", ""))


def _answer_idp(
    client: Saml2Client, config: SAMLConfig, logout_request: LogoutRequest, relay_state: str
) -> HttpResponse:
    """The LogoutResponse to the IdP's SLO URL, or the sign-in page when it has none."""
    if not config.idp_slo_url:
        return redirect(f"{reverse('login')}?signed_out=1")
    reply = client.create_logout_response(logout_request.message, [saml2.BINDING_HTTP_REDIRECT])
    info = client.apply_binding(
        saml2.BINDING_HTTP_REDIRECT, str(reply), config.idp_slo_url, relay_state, response=True
    )
    return HttpResponseRedirect(get_location(info))


# --- /login/, /app/, sign-out ---


def _company_for_email(email: str) -> Company | None:
    """Only a verified domain routes: a mere claim sends nobody anywhere."""
    return domains.company_for_email(email)


@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    """Email first: the email's domain finds the company; SSO companies go to their IdP."""
    next_url = safe_next(request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    step = request.POST.get("step", "email")
    context: dict[str, Any] = {
        "next": next_url,
        "method": "password" if request.GET.get("method") == "password" else "",
        "signed_out": request.GET.get("signed_out") == "1",
        "step": "email",
    }
    if request.method == "POST" and step == "password":
        return _password_step(request, next_url, context)

    wants_password = (request.POST.get("method") or request.GET.get("method")) == "password"
    if request.method == "POST":
        form = EmailForm(request.POST)
    elif request.GET.get("email"):
        form = EmailForm(request.GET)
    else:
        form = EmailForm()
    if form.is_bound and form.is_valid():
        email = form.cleaned_data["email"]
        company = _company_for_email(email)
        config = services.saml_config_for(company)
        if config is not None and company is not None and not wants_password:
            query = urlencode({"next": next_url})
            return redirect(f"{reverse('sso:login', args=[company.slug])}?{query}")
        context.update(
            step="password",
            form=PasswordForm(initial={"email": email}),
            company=company,
            sso_config=config,
            password_rule=password_rule(company, config),
        )
        return render(request, "sso/login.html", context)
    context["form"] = form
    return render(request, "sso/login.html", context, status=400 if form.is_bound else 200)


def password_rule(company: Company | None, config: SAMLConfig | None) -> str:
    """Who may use a password at `company`, as the password page says it (empty: everyone)."""
    if company is None or config is None or not config.enforce_sso:
        return ""
    if config.allow_admin_password_login:
        return (
            f"{company.name} signs in with single sign-on: only company admins may use a "
            "password here (break-glass sign-in, recorded in the audit log)."
        )
    return (
        f"{company.name} signs in with single sign-on only: passwords are turned off for "
        "everyone, company admins included."
    )


def _password_step(request: HttpRequest, next_url: str, context: dict[str, Any]) -> HttpResponse:
    form = PasswordForm(request.POST)
    context.update(step="password", form=form)
    if not form.is_valid():
        return render(request, "sso/login.html", context, status=400)
    email = form.cleaned_data["email"]
    company = _company_for_email(email)
    config = services.saml_config_for(company)
    context.update(company=company, sso_config=config, password_rule=password_rule(company, config))
    ip = client_ip(request)
    # Blocked: the password is not checked at all, so even the right one learns nothing.
    wait = services.password_sign_in_blocked_for(email=email, client_ip=ip)
    if wait is not None:
        return _too_many_failures(request, context, form, wait)
    user = auth.authenticate(request, username=email, password=form.cleaned_data["password"])
    if user is None:
        # Audited under the company of the account the email names (or only in the operator's
        # log): never under a company that merely routes the domain.
        account_company = domains.company_of_account(email)
        services.record_refusal(
            company=account_company,
            actor=ClientActor(ip or "unknown"),
            source=Source.ADMIN,
            reason="bad_credentials",
            detail={"email": email[:254], "method": "password"},
        )
        wait = services.record_password_failure(email=email, company=account_company, client_ip=ip)
        if wait is not None:
            return _too_many_failures(request, context, form, wait)
        message = "Wrong email or password."
        rule = context.get("password_rule")
        if rule:
            message += f" {rule}"
        form.add_error(None, message)
        return render(request, "sso/login.html", context, status=400)
    policy = services.password_sign_in_policy(user)
    services.clear_password_failures(email=email)
    auth.login(request, user)
    services.record_sign_in(
        user=user,
        company=user.company,
        source=Source.ADMIN,
        method="break_glass" if policy == "break_glass" else "password",
        client_ip=ip,
        detail={},
    )
    return redirect(next_url)


def _too_many_failures(
    request: HttpRequest, context: dict[str, Any], form: PasswordForm, wait: int
) -> HttpResponse:
    """429 with Retry-After; SSO stays open, so the page points there when the company has it."""
    minutes = math.ceil(wait / 60)
    message = f"Too many failed sign-ins. Try again in {minutes} minute{pluralize(minutes)}"
    message += ", or sign in with SSO." if context.get("sso_config") is not None else "."
    form.add_error(None, message)
    response = render(request, "sso/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


@never_cache
def app_home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
    user: User = request.user
    # An approver who is no company admin opens only the approval pages of Admin Settings.
    approver_only = is_company_approver(user) and not user.is_staff
    return render(request, "sso/app.html", {"profile": user, "approver_only": approver_only})


def sign_out(request: HttpRequest, detail: dict[str, Any] | None = None) -> None:
    user = request.user
    if user.is_authenticated:
        services.record_sign_out(user=user, client_ip=client_ip(request), detail=detail)
    auth.logout(request)


@never_cache
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out (POST). With an SSO session and an IdP SLO URL, continue at the IdP."""
    if request.method != "POST":
        if not request.user.is_authenticated:
            return redirect(reverse("login"))
        return render(request, "sso/logout.html", {})
    slo_redirect = _idp_logout_location(request)
    sign_out(request)
    return HttpResponseRedirect(slo_redirect or f"{reverse('login')}?signed_out=1")


def _idp_logout_location(request: HttpRequest) -> str | None:
    slug = request.session.get("sso_company")
    name_id_text = request.session.get("sso_name_id")
    if not slug or not name_id_text:
        return None
    company = Company.objects.filter(slug=slug).first()
    config = services.saml_config_for(company)
    if company is None or config is None or not config.idp_slo_url:
        return None
    from saml2.saml import NameID

    from sso.saml import build_sp_config, saml_client

    client = saml_client(build_sp_config(company.slug, config))
    try:
        name_id = NameID(
            text=name_id_text, format=request.session.get("sso_name_id_format") or None
        )
        session_index = request.session.get("sso_session_index")
        _, logout_request = client.create_logout_request(
            config.idp_slo_url,
            config.idp_entity_id,
            name_id=name_id,
            session_indexes=[session_index] if session_index else None,
            sign=False,  # the HTTP-Redirect binding signs the query string, not the XML
        )
        # Signed (RSA-SHA256 over the query) when the company asks for it and we hold a key.
        sign = bool(getattr(client.config, "_sp_logout_requests_signed", False))
        info = client.apply_binding(
            saml2.BINDING_HTTP_REDIRECT,
            str(logout_request),
            config.idp_slo_url,
            "",
            sign=sign,
            sigalg=SIG_RSA_SHA256 if sign else None,
        )
        return get_location(info)
    except Exception:  # the local sign-out must happen even if the IdP's SLO is unusable
        logger.warning("Could not build a SAML LogoutRequest for %s", slug, exc_info=True)
        return None


def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """Admin Settings signs in through /login/ too, so enforced SSO has no side door."""
    next_url = safe_next(request.GET.get("next"), default="/admin/")
    return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")
