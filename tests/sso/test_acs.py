"""The ACS with real responses signed by pysaml2's IdP: who gets in, and every attack refused."""

import base64
import datetime as dt
import re

import pytest
from django.test import Client

from accounts.models import AuditEvent, User, UserStatus
from sso.models import SeenAssertion
from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory
from tests.sso.conftest import assert_refused, refusals
from tests.sso.saml_idp import DIGEST_SHA1, SIG_RSA_SHA1, XSW_VARIANTS, encode, wrap

ACS = "/sso/acme/acs/"


@pytest.fixture
def ada(company):
    return UserFactory(
        company=company, email="ada@acme.example", given_name="Ada", family_name="Lovelace"
    )


def post(client, saml_response, relay_state=None, url=ACS):
    data = {"SAMLResponse": saml_response}
    if relay_state is not None:
        data["RelayState"] = relay_state
    return client.post(url, data)


def signed_in_as(client):
    return client.session.get("_auth_user_id")


# --- sign-ins that succeed ---


def test_idp_initiated_sign_in_lands_on_app(client, acme_saml, acme_idp, ada):
    response = post(client, acme_idp.response("ada@acme.example"))
    assert response.status_code == 302
    assert response["Location"] == "/app/"
    assert signed_in_as(client) == str(ada.pk)
    event = AuditEvent.objects.get(action="auth.sign_in.sso")
    assert event.actor_user == ada
    assert event.after["idp_initiated"] is True
    assert SeenAssertion.objects.filter(company=acme_saml.company).count() == 1
    assert client.get("/app/").status_code == 200


@pytest.mark.parametrize(
    ("sign_assertion", "sign_response"),
    [(True, False), (False, True), (True, True)],
    ids=["assertion-signed", "response-signed", "both-signed"],
)
def test_each_onelogin_signature_choice_is_accepted(
    client, acme_saml, acme_idp, ada, sign_assertion, sign_response
):
    saml = acme_idp.response(
        "ada@acme.example", sign_assertion=sign_assertion, sign_response=sign_response
    )
    response = post(client, saml)
    assert response.status_code == 302, response.content[:300]
    assert signed_in_as(client) == str(ada.pk)


def test_sp_initiated_sign_in_returns_to_next(client, acme_saml, acme_idp, ada):
    start = client.get("/sso/acme/login/", {"next": "/app/?tab=calls"})
    assert start.status_code == 302
    assert start["Location"].startswith("https://idp.example.test/sso?SAMLRequest=")
    request_id = acme_idp.request_id_of(start["Location"])
    response = post(
        client,
        acme_idp.response("ada@acme.example", in_response_to=request_id),
        relay_state="/app/?tab=calls",
    )
    assert response.status_code == 302
    assert response["Location"] == "/app/?tab=calls"
    assert signed_in_as(client) == str(ada.pk)
    assert AuditEvent.objects.get(action="auth.sign_in.sso").after["idp_initiated"] is False


def test_an_answered_request_is_forgotten_and_idp_initiated_writes_no_saml_session(
    client, acme_saml, acme_idp, ada, member
):
    from django.conf import settings

    idp_initiated = post(client, acme_idp.response("ada@acme.example"))
    assert idp_initiated.status_code == 302
    assert settings.SAML_SESSION_COOKIE_NAME not in idp_initiated.cookies

    other = Client()
    request_id = acme_idp.request_id_of(other.get("/sso/acme/login/")["Location"])
    first = post(other, acme_idp.response("ada@acme.example", in_response_to=request_id))
    assert first.status_code == 302
    other.logout()
    # A second genuine answer to the same request: that request was already answered.
    second = post(other, acme_idp.response("member@acme.example", in_response_to=request_id))
    assert_refused(other, second, "unknown_in_response_to")


def test_sp_initiated_works_even_when_idp_initiated_is_disallowed(
    client, acme_saml, acme_idp, ada, company
):
    acme_saml.allow_idp_initiated = False
    acme_saml.save()
    request_id = acme_idp.request_id_of(client.get("/sso/acme/login/")["Location"])
    response = post(client, acme_idp.response("ada@acme.example", in_response_to=request_id))
    assert response.status_code == 302
    assert signed_in_as(client) == str(ada.pk)


def test_certificate_rollover(client, acme_saml, idps, keys, ada, company):
    from accounts.audit import SYSTEM
    from sso import services

    services.configure_saml(
        company=company, actor=SYSTEM, source="cli", idp_certificate_2=keys["acme_next"].cert_pem
    )
    for idp in (idps["acme"], idps["acme_next"]):
        client.logout()
        assert post(client, idp.response("ada@acme.example")).status_code == 302
        assert signed_in_as(client) == str(ada.pk)

    # The IdP switched: the old certificate is removed, the next one is now the only one.
    services.configure_saml(company=company, actor=SYSTEM, source="cli", idp_certificate="")
    client.logout()
    assert post(client, idps["acme_next"].response("ada@acme.example")).status_code == 302
    client.logout()
    assert_refused(client, post(client, idps["acme"].response("ada@acme.example")), "bad_signature")


def test_relay_state_is_followed_when_relative(client, acme_saml, acme_idp, ada):
    response = post(client, acme_idp.response("ada@acme.example"), relay_state="/app/?x=1")
    assert response["Location"] == "/app/?x=1"


@pytest.mark.parametrize(
    "relay_state",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example",
        "javascript:alert(1)",
    ],
)
def test_off_site_relay_state_is_ignored(client, acme_saml, acme_idp, ada, relay_state):
    response = post(client, acme_idp.response("ada@acme.example"), relay_state=relay_state)
    assert response.status_code == 302
    assert response["Location"] == "/app/"


def test_off_site_next_is_not_sent_as_relay_state(client, acme_saml, acme_idp):
    start = client.get("/sso/acme/login/", {"next": "https://evil.example/"})
    assert "evil.example" not in start["Location"]
    assert "RelayState=%2Fapp%2F" in start["Location"]


# --- who gets in ---


@pytest.mark.parametrize(
    ("status", "reason"),
    [(UserStatus.SUSPENDED, "suspended"), (UserStatus.PENDING, "pending")],
)
def test_inactive_users_get_contact_your_admin(client, acme_saml, acme_idp, ada, status, reason):
    User.objects.filter(pk=ada.pk).update(status=status)
    response = post(client, acme_idp.response("ada@acme.example"))
    assert_refused(client, response, reason)
    assert "contact your company" in response.content.decode()


def test_unknown_user_without_jit_is_refused(client, acme_saml, acme_idp):
    response = post(client, acme_idp.response("nobody@acme.example"))
    assert_refused(client, response, "unknown_user")
    assert not User.objects.filter(email="nobody@acme.example").exists()


def test_a_refused_users_assertion_is_used_up(client, acme_saml, acme_idp, company):
    # Refused while the account does not exist yet, the same response does not sign in later.
    saml = acme_idp.response("late@acme.example")
    assert_refused(client, post(client, saml), "unknown_user")
    UserFactory(company=company, email="late@acme.example")
    assert_refused(client, post(client, saml), "replay")


def test_deleted_user_is_refused(client, acme_saml, acme_idp, ada):
    from accounts.audit import SYSTEM
    from members.services import delete_member

    delete_member(user=ada, actor=SYSTEM, source="scim")
    response = post(client, acme_idp.response("ada@acme.example"))
    assert_refused(client, response, "unknown_user")


def test_name_id_maps_to_users_of_this_company_only(client, acme_saml, acme_idp, other_company):
    # A globex user's email asserted by acme's IdP does not sign into globex's account.
    UserFactory(company=other_company, email="boss@globex.example")
    response = post(client, acme_idp.response("boss@globex.example"))
    assert_refused(client, response, "unknown_user")


@pytest.mark.parametrize("name_id", ["ADA@ACME.EXAMPLE", " Ada@Acme.Example "])
def test_name_id_matches_the_email_whatever_its_ascii_case(
    client, acme_saml, acme_idp, ada, name_id
):
    assert post(client, acme_idp.response(name_id)).status_code == 302
    assert signed_in_as(client) == str(ada.pk)


@pytest.mark.parametrize(
    "name_id",
    [
        "\u212aate@acme.example",  # KELVIN SIGN: lower-cases to an ASCII "k"
        "kate@\u212anown.example",
    ],
)
@pytest.mark.parametrize("jit", [False, True])
def test_name_id_with_a_look_alike_that_lower_cases_to_ascii_matches_nobody(
    client, acme_saml, acme_idp, company, name_id, jit
):
    """An IdP account named with a look-alike letter is another person than kate@: it must not
    sign in as her (nor be created as her), though Python and PostgreSQL lower-case both alike."""
    from tests.accounts.factories import CompanyDomainFactory

    CompanyDomainFactory(company=company, domain="known.example", verified=True)
    UserFactory(company=company, email="kate@acme.example")
    UserFactory(company=company, email="kate@known.example")
    acme_saml.jit_provisioning = jit
    acme_saml.save()
    response = post(client, acme_idp.response(name_id))
    assert_refused(client, response, "bad_name_id")
    assert signed_in_as(client) is None
    assert User.objects.filter(company=company).count() == 2


def test_jit_creates_a_user_with_office_license_and_number(client, acme_saml, acme_idp, company):
    office = OfficeFactory(company=company, name="San Francisco", is_main=True)
    number = PhoneNumberFactory(company=company, number="+14155550100", office=office)
    acme_saml.jit_provisioning = True
    acme_saml.jit_license_type = "sales"
    acme_saml.save()
    response = post(client, acme_idp.response("new.person@acme.example"))
    assert response.status_code == 302
    user = User.objects.get(email="new.person@acme.example")
    assert user.company == company
    assert (user.given_name, user.family_name) == ("Ada", "Lovelace")
    assert user.office == office
    assert user.license_type == "sales"
    number.refresh_from_db()
    assert number.assigned_user == user
    assert signed_in_as(client) == str(user.pk)
    assert AuditEvent.objects.filter(action="user.created", source="sso").count() == 1
    assert AuditEvent.objects.filter(action="license.assigned", source="sso").count() == 1
    page = client.get("/app/").content.decode()
    assert "San Francisco" in page
    assert number.formatted in page
    assert "Sales" in page


def test_jit_sign_in_racing_another_first_sign_in_signs_in_as_the_user_it_created(
    client, acme_saml, acme_idp, company, monkeypatch
):
    """A double click on the IdP tile: two assertions for a new person arrive together, and the
    other request creates the user between this one's lookup and its insert. This one signs in
    as that user (before: a `jit_refused` page, "already used by another account")."""
    from sso import services

    acme_saml.jit_provisioning = True
    acme_saml.save()
    provision = services._provision_just_in_time
    other = {}

    def the_other_request_commits_first(**kwargs):
        # This request's lookup found nobody; the other one's JIT commits now.
        other["user"] = provision(**kwargs)
        return provision(**kwargs)

    monkeypatch.setattr(services, "_provision_just_in_time", the_other_request_commits_first)
    response = post(client, acme_idp.response("new.person@acme.example"))
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == "/app/"
    assert signed_in_as(client) == str(other["user"].pk)
    assert User.objects.filter(email__iexact="new.person@acme.example").count() == 1
    assert not refusals().exists()
    assert AuditEvent.objects.filter(action="auth.sign_in.sso").count() == 1


def test_jit_without_a_free_seat_creates_nobody(client, acme_saml, acme_idp, company):
    from accounts.models import LicenseSeats

    LicenseSeats.objects.filter(company=company).update(seats=0)
    acme_saml.jit_provisioning = True
    acme_saml.save()
    response = post(client, acme_idp.response("new.person@acme.example"))
    assert_refused(client, response, "no_free_license")
    assert "no free license" in response.content.decode()
    assert not User.objects.filter(email="new.person@acme.example").exists()


def test_jit_refuses_emails_outside_the_company_domains(client, acme_saml, acme_idp):
    acme_saml.jit_provisioning = True
    acme_saml.save()
    response = post(client, acme_idp.response("someone@elsewhere.example"))
    assert_refused(client, response, "jit_foreign_domain")
    assert not User.objects.filter(email="someone@elsewhere.example").exists()


# --- attacks ---


def test_unsigned_response_is_refused(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", sign_assertion=False, sign_response=False)
    assert_refused(client, post(client, saml), "unsigned")


def test_unsigned_response_carrying_a_genuine_signature_elsewhere_is_refused_as_unsigned(
    client, acme_saml, acme_idp, ada
):
    """A signature that signs neither the response nor its assertion (here one copied from a
    genuine response into Extensions) does not make the response signed."""
    signed = acme_idp.response_xml("ada@acme.example")
    signature = re.search(r"<(?P<p>[\w.-]+):Signature\b.*?</(?P=p):Signature>", signed, re.S)
    assert signature
    ds = signature.group("p")
    copied = signature.group(0).replace(
        f"<{ds}:Signature", f'<{ds}:Signature xmlns:{ds}="http://www.w3.org/2000/09/xmldsig#"', 1
    )
    unsigned = acme_idp.response_xml("ada@acme.example", sign_assertion=False)
    status = re.search(r"<(?P<p>[\w.-]+):Status\b", unsigned)
    assert status
    samlp = status.group("p")
    tampered = unsigned.replace(
        status.group(0), f"<{samlp}:Extensions>{copied}</{samlp}:Extensions>{status.group(0)}", 1
    )
    assert_refused(client, post(client, encode(tampered)), "unsigned")


def test_response_signed_by_another_key_is_refused(client, acme_saml, idps, ada):
    # Same issuer, the attacker's key, its certificate embedded in KeyInfo.
    for signing in ({"sign_assertion": True}, {"sign_response": True, "sign_assertion": False}):
        response = post(client, idps["evil"].response("ada@acme.example", **signing))
        assert response.status_code == 403
        assert "_auth_user_id" not in client.session
    assert refusals("bad_signature").count() == 2


def test_assertion_altered_after_signing_is_refused(client, acme_saml, acme_idp, ada, member):
    xml = acme_idp.response_xml("ada@acme.example")
    tampered = xml.replace("ada@acme.example", "member@acme.example")
    assert tampered != xml
    assert_refused(client, post(client, encode(tampered)), "bad_signature")


def test_signature_whose_reference_points_elsewhere_is_refused(client, acme_saml, acme_idp, ada):
    """Both signed; the assertion's Reference is rewritten to the response's ID: the assertion's
    signature no longer covers the assertion (and no longer verifies)."""
    xml = acme_idp.response_xml("ada@acme.example", sign_response=True)
    response_id = re.search(r'<[\w.-]+:Response\b[^>]*\bID="([^"]+)"', xml)
    assertion_id = re.search(r'<[\w.-]+:Assertion\b[^>]*\bID="([^"]+)"', xml)
    assert response_id
    assert assertion_id
    moved = xml.replace(f'URI="#{assertion_id.group(1)}"', f'URI="#{response_id.group(1)}"', 1)
    assert moved != xml
    assert_refused(client, post(client, encode(moved)), "bad_signature")


def test_signed_response_with_its_assertion_swapped_is_refused(
    client, acme_saml, acme_idp, ada, company
):
    """The response is signed (not the assertion): the assertion of another genuine response,
    for another user, put in its place breaks the response's signature."""
    from tests.sso.saml_idp import signed_assertion

    victim = UserFactory(company=company, email="ceo@acme.example", role="company_admin")
    xml = acme_idp.response_xml("ada@acme.example", sign_assertion=False, sign_response=True)
    other = acme_idp.response_xml(victim.email, sign_assertion=False, sign_response=True)
    swapped = xml.replace(signed_assertion(xml), signed_assertion(other))
    assert victim.email in swapped
    assert_refused(client, post(client, encode(swapped)), "bad_signature")


def test_signed_assertion_hidden_in_the_advice_of_an_unsigned_one_is_refused(
    client, acme_saml, acme_idp, ada, company
):
    """The attacker's unsigned assertion naming the victim carries the genuine signed one in its
    <Advice>, where the schema allows assertions: refused before pysaml2 looks."""
    from tests.sso.saml_idp import evil_copy, signed_assertion

    victim = UserFactory(company=company, email="ceo@acme.example", role="company_admin")
    xml = acme_idp.response_xml("ada@acme.example")
    original = signed_assertion(xml)
    evil = evil_copy(original, victim.email)
    conditions_end = re.search(r"</(?P<p>[\w.-]+):Conditions>", evil)
    assert conditions_end
    prefix = conditions_end.group("p")
    advice = f"<{prefix}:Advice>{original}</{prefix}:Advice>"
    evil = evil[: conditions_end.end()] + advice + evil[conditions_end.end() :]
    response = post(client, encode(xml.replace(original, evil)))
    assert_refused(client, response, "assertion_count")


@pytest.mark.parametrize(
    ("variant", "signed"),
    XSW_VARIANTS,
)
def test_xml_signature_wrapping_is_refused(
    client, acme_saml, acme_idp, ada, company, variant, signed
):
    victim = UserFactory(company=company, email="ceo@acme.example", role="company_admin")
    xml = acme_idp.response_xml(
        "ada@acme.example",
        sign_assertion=signed == "assertion",
        sign_response=signed == "response",
    )
    wrapped = wrap(xml, variant, victim.email)
    assert victim.email in wrapped
    response = post(client, encode(wrapped))
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    # Refused before pysaml2 even looks (which, on its own, refuses these shapes too).
    assert refusals().get().after["reason"] in {"assertion_count", "duplicate_id"}
    assert not AuditEvent.objects.filter(action__startswith="auth.sign_in.").exists()


def test_replayed_assertion_is_refused(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example")
    assert post(client, saml).status_code == 302
    client.logout()
    # Another browser (or another web process: the store is the database) replays it.
    from django.test import Client

    attacker = Client()
    assert_refused(attacker, post(attacker, saml), "replay")


def _without_any_expiry(response):
    assertion = response.assertion[0]
    assertion.conditions.not_on_or_after = None
    for confirmation in assertion.subject.subject_confirmation:
        confirmation.subject_confirmation_data.not_on_or_after = None


def test_assertion_without_any_expiry_is_refused(client, acme_saml, acme_idp, ada):
    """Valid forever, it would be kept in the replay store for a day only and could be replayed
    after the purge. pysaml2 accepts it; the Web SSO profile requires NotOnOrAfter."""
    saml = acme_idp.response("ada@acme.example", alter=_without_any_expiry)
    response = post(client, saml)
    assert_refused(client, response, "no_expiry")
    assert "expiry" in response.content.decode()
    assert not SeenAssertion.objects.exists()


def _expiring_in_conditions_only(response):
    for confirmation in response.assertion[0].subject.subject_confirmation:
        confirmation.subject_confirmation_data.not_on_or_after = None


def test_replay_store_keeps_an_assertion_until_its_conditions_expire(
    client, acme_saml, acme_idp, ada
):
    from sso.assertions import saml_time

    xml = acme_idp.response_xml("ada@acme.example", alter=_expiring_in_conditions_only)
    assert post(client, encode(xml)).status_code == 302
    expiry = re.search(r'Conditions [^>]*NotOnOrAfter="([^"]+)"', xml)
    assert expiry
    seen = SeenAssertion.objects.get()
    assert seen.not_on_or_after == saml_time(expiry.group(1)) + dt.timedelta(minutes=5)


def test_replay_store_keeps_an_assertion_until_its_last_confirmation_expires(
    client, acme_saml, acme_idp, ada
):
    """Two bearer confirmations, the first valid an hour: the id is kept while the assertion
    could be accepted at all, which our age limit (SAML_MAX_AGE) ends before the hour is up."""
    import copy

    from tests.sso.saml_idp import SAML_TIME

    in_an_hour = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)

    def two_confirmations(response):
        confirmations = response.assertion[0].subject.subject_confirmation
        confirmations.append(copy.deepcopy(confirmations[0]))
        confirmations[0].subject_confirmation_data.not_on_or_after = in_an_hour.strftime(SAML_TIME)

    assert (
        post(client, acme_idp.response("ada@acme.example", alter=two_confirmations)).status_code
        == 302
    )
    seen = SeenAssertion.objects.get()
    # Well past the last confirmation's expiry (the first one's is an hour away), bounded by
    # the age limit: issued now, acceptable for SAML_MAX_AGE (10 min), plus the slack.
    now = dt.datetime.now(dt.UTC)
    assert now + dt.timedelta(minutes=14) < seen.not_on_or_after
    assert seen.not_on_or_after <= now + dt.timedelta(minutes=15, seconds=1)


def test_replay_store_purge_keeps_unexpired_ids(acme_saml, company):
    from django.utils import timezone

    from sso.services import consume_assertion, purge_seen_assertions

    now = timezone.now()
    consume_assertion(
        company=company, assertion_id="_old", not_on_or_after=now - dt.timedelta(hours=1)
    )
    consume_assertion(company=company, assertion_id="_live", not_on_or_after=now)
    assert purge_seen_assertions() == 1
    assert list(SeenAssertion.objects.values_list("assertion_id", flat=True)) == ["_live"]


def test_expired_assertion_is_refused(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", shift=-dt.timedelta(minutes=10))
    assert_refused(client, post(client, saml), "expired")


def test_not_yet_valid_assertion_is_refused(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response(
        "ada@acme.example",
        shift=dt.timedelta(minutes=5),
        not_before=dt.timedelta(minutes=5),
    )
    assert_refused(client, post(client, saml), "not_yet_valid")


def test_small_clock_skew_is_tolerated(client, acme_saml, acme_idp, ada):
    # The IdP's clock runs 40 s ahead: NotBefore is 40 s in our future, within the 3 min allowed.
    saml = acme_idp.response("ada@acme.example", not_before=dt.timedelta(seconds=40))
    assert post(client, saml).status_code == 302
    assert signed_in_as(client) == str(ada.pk)


def test_wrong_audience_is_refused(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", audience="https://other-sp.example/metadata")
    assert_refused(client, post(client, saml), "wrong_audience")


def _without_audience_restriction(response):
    response.assertion[0].conditions.audience_restriction = []


def _without_conditions(response):
    response.assertion[0].conditions = None


def _with_a_second_audience_restriction_for_another_sp(response):
    from saml2.saml import Audience, AudienceRestriction

    response.assertion[0].conditions.audience_restriction.append(
        AudienceRestriction(audience=[Audience(text="https://other-sp.example/metadata")])
    )


@pytest.mark.parametrize(
    "alter",
    [
        _without_audience_restriction,
        _without_conditions,
        _with_a_second_audience_restriction_for_another_sp,
    ],
)
def test_assertion_must_be_restricted_to_our_audience(client, acme_saml, acme_idp, ada, alter):
    """The Web SSO profile requires an AudienceRestriction naming us, and several restrictions
    must all hold. pysaml2 lets an assertion without any through, and needs only one to name us."""
    saml = acme_idp.response("ada@acme.example", alter=alter)
    assert_refused(client, post(client, saml), "wrong_audience")


def test_wrong_destination_is_refused_not_500(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", destination="https://other-sp.example/acs")
    assert_refused(client, post(client, saml), "no_valid_assertion")


def test_wrong_recipient_is_refused(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", recipient="https://other-sp.example/acs")
    assert_refused(client, post(client, saml), "wrong_recipient")


def test_company_a_idp_response_posted_to_company_b_acs_is_refused(
    client, acme_saml, globex_saml, idps, other_company
):
    boss = UserFactory(company=other_company, email="boss@globex.example")
    # acme's IdP mints a response for globex's SP, audience and destination and all.
    saml = idps["acme"].response("boss@globex.example", sp_slug="globex")
    response = post(client, saml, url="/sso/globex/acs/")
    assert_refused(client, response, "bad_signature")
    assert refusals().get().company == other_company
    assert boss.pk != signed_in_as(client)


def test_response_for_company_a_is_refused_at_company_b_even_with_a_shared_idp(
    client, acme_saml, globex_saml, idps, keys, other_company
):
    # Both companies trust the very same IdP and key: the audience still tells them apart.
    from accounts.audit import SYSTEM
    from sso import services

    services.configure_saml(
        company=other_company,
        actor=SYSTEM,
        source="cli",
        idp_entity_id=idps["acme"].entity_id,
        idp_certificate=keys["acme"].cert_pem,
    )
    UserFactory(company=other_company, email="boss@globex.example")
    saml = idps["acme"].response("boss@globex.example", sp_slug="acme")
    response = post(client, saml, url="/sso/globex/acs/")
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert refusals().get().after["reason"] in {"wrong_audience", "no_valid_assertion"}


def test_in_response_to_matching_no_outstanding_request_is_refused(
    client, acme_saml, acme_idp, ada
):
    client.get("/sso/acme/login/")  # an outstanding request exists, but not this one
    saml = acme_idp.response("ada@acme.example", in_response_to="id-never-sent-by-us")
    assert_refused(client, post(client, saml), "unknown_in_response_to")


def test_answer_to_another_browsers_request_is_refused(client, acme_saml, acme_idp, ada):
    from django.test import Client

    other = Client()
    request_id = acme_idp.request_id_of(other.get("/sso/acme/login/")["Location"])
    saml = acme_idp.response("ada@acme.example", in_response_to=request_id)
    assert_refused(client, post(client, saml), "unknown_in_response_to")


def test_idp_initiated_is_refused_when_disallowed(client, acme_saml, acme_idp, ada):
    acme_saml.allow_idp_initiated = False
    acme_saml.save()
    response = post(client, acme_idp.response("ada@acme.example"))
    assert_refused(client, response, "idp_initiated_disallowed")
    assert "sign-in page" in response.content.decode()


def test_xxe_external_entity_is_refused(client, acme_saml, acme_idp, ada):
    xml = acme_idp.response_xml("ada@acme.example")
    doctype = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
    evil = doctype + body.replace("ada@acme.example", "&xxe;", 1)
    assert_refused(client, post(client, encode(evil)), "xml_dtd")


def test_entity_expansion_bomb_is_refused(client, acme_saml, acme_idp, ada):
    xml = acme_idp.response_xml("ada@acme.example")
    bomb = (
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    )
    body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
    assert_refused(client, post(client, encode(bomb + body.replace("Ada", "&d;", 1))), "xml_dtd")


def test_deeply_nested_xml_is_refused_before_pysaml2_recurses_into_it(
    client, acme_saml, acme_idp, ada, caplog
):
    """2,000 nested elements in the (unsigned) response's Extensions: pysaml2's recursive parser
    hit Python's recursion limit and logged a RecursionError traceback at ERROR."""
    import logging

    xml = acme_idp.response_xml("ada@acme.example")
    status = re.search(r"<(?P<p>[\w.-]+):Status\b", xml)
    assert status
    prefix = status.group("p")
    nested = '<y:x xmlns:y="urn:example:y">' * 2000 + "</y:x>" * 2000
    deep = xml.replace(
        status.group(0), f"<{prefix}:Extensions>{nested}</{prefix}:Extensions>{status.group(0)}", 1
    )
    with caplog.at_level(logging.ERROR):
        response = post(client, encode(deep))
    assert_refused(client, response, "xml_too_deep")
    assert "RecursionError" not in caplog.text


def test_comment_inside_name_id_is_refused(client, acme_saml, acme_idp, company):
    """The 2018 truncation attack: the IdP signs 'admin@acme.example.evil.test' (an account the
    attacker owns there); a comment splits it and a naive parser reads 'admin@acme.example'.
    Exclusive c14n drops comments, so the signature still verifies."""
    admin = UserFactory(company=company, email="admin@acme.example", role="company_admin")
    acme_saml.jit_provisioning = True
    acme_saml.save()
    response_xml = acme_idp.response_xml("admin@acme.example.evil.test")
    split = response_xml.replace(
        "admin@acme.example.evil.test", "admin@acme.example<!---->.evil.test"
    )
    assert split != response_xml
    response = post(client, encode(split))
    assert_refused(client, response, "xml_comment")
    assert signed_in_as(client) != str(admin.pk)


def test_sha1_signature_is_refused(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1)
    assert_refused(client, post(client, saml), "weak_signature_algorithm")


# --- bad input: clear errors, never a 500 ---


def test_saml_response_that_is_not_base64(client, acme_saml):
    assert_refused(client, post(client, "%%% not base64 %%%"), "not_base64", status=400)


def test_saml_response_that_is_not_xml(client, acme_saml):
    saml = base64.b64encode(b"hello, I am not XML").decode()
    assert_refused(client, post(client, saml), "not_xml", status=400)


def test_saml_response_that_is_other_xml(client, acme_saml):
    saml = base64.b64encode(b"<html><body>hi</body></html>").decode()
    assert_refused(client, post(client, saml), "not_saml_response", status=400)


def test_five_megabyte_post_is_refused(client, acme_saml):
    response = post(client, "A" * (5 * 1024 * 1024))
    assert_refused(client, response, "too_large", status=413)


def test_missing_saml_response(client, acme_saml):
    assert_refused(client, client.post(ACS, {}), "missing_response", status=400)


def test_acs_of_a_company_without_sso(client, company, acme_idp, ada):
    response = post(client, acme_idp.response("ada@acme.example"))
    assert_refused(client, response, "sso_not_enabled")


def test_acs_of_an_unknown_company_is_404(client, db):
    assert client.post("/sso/nope/acs/", {"SAMLResponse": "x"}).status_code == 404


def test_get_on_the_acs_is_not_allowed(client, acme_saml):
    assert client.get(ACS).status_code == 405


def test_purge_task_runs_the_purge(acme_saml, company):
    from django.utils import timezone

    from sso.services import consume_assertion
    from sso.tasks import purge_seen_assertions_task

    consume_assertion(
        company=company,
        assertion_id="_expired",
        not_on_or_after=timezone.now() - dt.timedelta(hours=2),
    )
    assert purge_seen_assertions_task.delay().get() == 1
    assert not SeenAssertion.objects.exists()


def test_idp_error_status_is_a_friendly_refusal(client, acme_saml, acme_idp):
    from saml2.samlp import STATUS_AUTHN_FAILED, STATUS_RESPONDER

    error = acme_idp.server.create_error_response(
        None, "http://127.0.0.1:8000/sso/acme/acs/", (STATUS_RESPONDER, STATUS_AUTHN_FAILED)
    )
    response = post(client, encode(str(error)))
    assert_refused(client, response, "idp_refused")
    assert "did not sign you in" in response.content.decode()


def test_assertion_without_a_bearer_confirmation_is_refused(client, acme_saml, acme_idp, ada):
    """The Web SSO profile signs a browser in only on a bearer confirmation: a sender-vouches
    one says an attesting party (not the browser) vouches for the subject, which we never ask."""

    def vouched(response):
        for confirmation in response.assertion[0].subject.subject_confirmation:
            confirmation.method = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"

    saml = acme_idp.response("ada@acme.example", alter=vouched)
    assert_refused(client, post(client, saml), "not_bearer")


def test_a_refused_response_is_one_log_line_with_its_reason(client, acme_saml, idps, ada, caplog):
    """pysaml2 and djangosaml2 logged xmlsec1's output and two tracebacks at ERROR for each
    refused response, ~10 KB a POST that anyone may send."""
    import logging

    forged = idps["evil"].response("ada@acme.example")
    with caplog.at_level(logging.INFO):
        assert_refused(client, post(client, forged), "bad_signature")
    saml_records = [r for r in caplog.records if r.name.split(".")[0] in {"saml2", "djangosaml2"}]
    assert saml_records == []
    assert "SAML sign-in refused for acme: bad_signature" in caplog.text


# --- time bounds (SAML_CLOCK_SKEW, SAML_MAX_AGE, SAML_MAX_VALIDITY) ---


def _valid_for(delta):
    """Every NotOnOrAfter set to `delta` from now (NotBefore and IssueInstant untouched)."""
    from tests.sso.saml_idp import SAML_TIME

    stamp = (dt.datetime.now(dt.UTC) + delta).strftime(SAML_TIME)

    def alter(response):
        assertion = response.assertion[0]
        assertion.conditions.not_on_or_after = stamp
        for confirmation in assertion.subject.subject_confirmation:
            confirmation.subject_confirmation_data.not_on_or_after = stamp

    return alter


def test_assertion_issued_an_hour_in_the_future_is_refused(client, acme_saml, acme_idp, ada):
    """pysaml2 accepts an IssueInstant up to a day ahead; we allow the clock skew (3 min)."""
    saml = acme_idp.response(
        "ada@acme.example", shift=dt.timedelta(hours=1), not_before=dt.timedelta(0)
    )
    response = post(client, saml)
    assert_refused(client, response, "issued_in_future")
    assert "clock" in response.content.decode()
    assert not SeenAssertion.objects.exists()


def test_assertion_issued_two_minutes_ahead_is_within_the_skew(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response(
        "ada@acme.example", shift=dt.timedelta(minutes=2), not_before=dt.timedelta(0)
    )
    assert post(client, saml).status_code == 302
    assert signed_in_as(client) == str(ada.pk)


@pytest.mark.parametrize("age", [dt.timedelta(hours=20), dt.timedelta(minutes=14)])
def test_assertion_issued_longer_ago_than_the_max_age_is_refused(
    client, acme_saml, acme_idp, ada, age
):
    """Still within its NotOnOrAfter, but issued more than SAML_MAX_AGE (10 min) plus the skew
    ago: IdPs post within seconds, so it is a stolen or stored one."""
    saml = acme_idp.response(
        "ada@acme.example", shift=-age, alter=_valid_for(dt.timedelta(hours=1))
    )
    assert_refused(client, post(client, saml), "issued_too_long_ago")


def test_assertion_issued_minutes_ago_is_accepted(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response(
        "ada@acme.example", shift=-dt.timedelta(minutes=8), alter=_valid_for(dt.timedelta(hours=1))
    )
    assert post(client, saml).status_code == 302


def test_max_age_is_a_setting(client, acme_saml, acme_idp, ada, settings):
    settings.SAML_MAX_AGE = 60
    saml = acme_idp.response(
        "ada@acme.example", shift=-dt.timedelta(minutes=5), alter=_valid_for(dt.timedelta(hours=1))
    )
    assert_refused(client, post(client, saml), "issued_too_long_ago")


def test_assertion_valid_for_ten_years_is_refused(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", alter=_valid_for(dt.timedelta(days=3650)))
    response = post(client, saml)
    assert_refused(client, response, "validity_too_long")
    assert "24 hours" in response.content.decode()
    assert not SeenAssertion.objects.exists()


def test_assertion_valid_for_a_day_is_accepted_and_remembered_until_too_old(
    client, acme_saml, acme_idp, ada
):
    """Valid 23 h: accepted, and its replay-store row lasts while it could be accepted at all
    (its age limit plus slack), not 23 h."""
    saml = acme_idp.response("ada@acme.example", alter=_valid_for(dt.timedelta(hours=23)))
    assert post(client, saml).status_code == 302
    seen = SeenAssertion.objects.get()
    assert seen.not_on_or_after <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15, seconds=1)


# --- the outer Issuer ---


def _issued_by(entity_id):
    def alter(response):
        response.issuer.text = entity_id

    return alter


def test_unsigned_outer_issuer_naming_another_idp_is_refused_and_not_audited(
    client, acme_saml, acme_idp, ada
):
    """Only the assertion is signed: the Response's Issuer is anyone's text. It must name the
    company's IdP, and the refusal never writes it into the audit log."""
    forged = "attacker wrote this into your audit log"
    saml = acme_idp.response("ada@acme.example", alter=_issued_by(forged))
    assert_refused(client, post(client, saml), "wrong_issuer")
    assert not AuditEvent.objects.filter(after__icontains="attacker").exists()
    for event in AuditEvent.objects.all():
        assert forged not in str(event.after)


def test_outer_issuer_of_the_company_idp_is_audited_on_refusal(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", audience="https://other-sp.example/metadata")
    assert_refused(client, post(client, saml), "wrong_audience")
    assert refusals().get().after["issuer"] == acme_saml.idp_entity_id


def test_unanswered_in_response_to_is_not_audited(client, acme_saml, acme_idp, ada):
    saml = acme_idp.response("ada@acme.example", in_response_to="anyone-can-write-this")
    assert_refused(client, post(client, saml), "unknown_in_response_to")
    assert "in_response_to" not in refusals().get().after


def test_response_without_an_outer_issuer_is_accepted(client, acme_saml, acme_idp, ada):
    def without_issuer(response):
        response.issuer = None

    assert (
        post(client, acme_idp.response("ada@acme.example", alter=without_issuer)).status_code == 302
    )
    assert signed_in_as(client) == str(ada.pk)
