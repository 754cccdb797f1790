import math
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.audit import SYSTEM, ClientActor, Source
from accounts.errors import Conflict, DomainError
from accounts.models import AuditEvent
from apikeys import services, tokens
from apikeys.models import APIKey
from apikeys.services import AuthenticationFailed, authenticate, create_api_key, revoke_api_key
from tests.apikeys.factories import age_cached_keys, make_api_key, tampered

pytestmark = pytest.mark.django_db

KEY_FORMAT = re.compile(r"^sbk_[a-z0-9]{12}_[A-Za-z0-9]{43}$")


def test_created_key_is_recognizable_and_only_its_hash_is_stored(company, company_admin):
    api_key, raw_key = create_api_key(
        company=company, name="  OneLogin  ", actor=company_admin, source=Source.ADMIN
    )
    assert KEY_FORMAT.match(raw_key)
    assert raw_key.startswith(api_key.prefix + "_")
    stored = APIKey.objects.get(pk=api_key.pk)
    assert stored.name == "OneLogin"
    assert stored.scopes == ["scim"]
    assert stored.created_by == company_admin
    assert stored.secret_hash == tokens.hash_key(raw_key)
    assert raw_key not in stored.secret_hash
    assert raw_key.split("_")[2] not in stored.secret_hash
    assert stored.is_usable
    assert stored.status == "active"
    assert stored.has_scope("scim")
    assert not stored.has_scope("api:write")


def test_keys_carry_256_bits_and_never_repeat(company):
    # 62**43 possible secrets is more than 2**256.
    assert tokens.SECRET_LENGTH * math.log2(len(tokens.SECRET_ALPHABET)) >= 256
    keys = [make_api_key(company)[1] for _ in range(20)]
    assert len(set(keys)) == 20
    assert len({key.split("_")[1] for key in keys}) == 20
    # Every character position varies: the secret is not a counter or a timestamp.
    secrets_ = [key.split("_")[2] for key in keys]
    assert all(len({s[i] for s in secrets_}) > 1 for i in range(tokens.SECRET_LENGTH))


def test_creation_is_audited_without_the_key(company, company_admin):
    api_key, raw_key = create_api_key(
        company=company,
        name="Okta",
        scopes=["api:read", "scim"],
        actor=company_admin,
        source=Source.ADMIN,
    )
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.company == company
    assert event.actor_user == company_admin
    assert event.target_id == str(api_key.pk)
    assert event.after["prefix"] == api_key.prefix
    assert event.after["scopes"] == ["scim", "api:read"]
    assert raw_key.split("_")[2] not in str(event.after) + event.target_label


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"name": ""}, "name", "Give the key a name"),
        ({"name": "   "}, "name", "Give the key a name"),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"scopes": []}, "scopes", "at least one scope"),
        ({"scopes": ["admin"]}, "scopes", "Unknown scope admin"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at", "in the past"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(company, kwargs, field, words):
    arguments = {"company": company, "name": "OneLogin", "actor": SYSTEM, "source": Source.CLI}
    with pytest.raises(DomainError, match=words) as refused:
        create_api_key(**{**arguments, **kwargs})
    assert refused.value.field == field
    assert not APIKey.objects.exists()
    assert not AuditEvent.objects.filter(action="api_key.created").exists()


def test_naive_expiry_is_refused(company):
    naive = timezone.now().replace(tzinfo=None) + timedelta(days=1)
    with pytest.raises(DomainError, match="time zone"):
        make_api_key(company, expires_at=naive)


def test_revoke_takes_effect_on_the_next_request(company, company_admin):
    api_key, raw_key = make_api_key(company)
    assert authenticate(raw_key=raw_key, client_ip="198.51.100.7") == api_key
    revoked = revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)
    assert revoked.revoked_at is not None
    assert revoked.revoked_by == company_admin
    assert not revoked.is_usable
    assert revoked.status == "revoked"
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.actor_user == company_admin
    assert event.after["status"] == "revoked"


def test_revoking_twice_is_a_clear_conflict(company, company_admin):
    api_key, _ = make_api_key(company)
    revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)
    with pytest.raises(Conflict, match="already revoked"):
        revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_authenticate_returns_the_key_with_its_company(company, other_company):
    mine, raw_mine = make_api_key(company)
    _, raw_theirs = make_api_key(other_company)
    found = authenticate(raw_key=raw_mine, client_ip="198.51.100.7")
    assert found == mine
    assert found.company == company
    assert authenticate(raw_key=raw_theirs, client_ip="198.51.100.7").company == other_company


@pytest.mark.parametrize(
    "mangle",
    [
        tampered,  # right prefix, wrong secret
        lambda key: key[:4] + "zzzzzzzzzzzz" + key[16:],  # unknown prefix, right secret
        lambda key: key + "x",
        lambda key: key[:-1],
        lambda key: key.upper(),
        lambda key: key.replace("sbk_", "sbx_"),
        lambda key: key[:-1] + "é",
        lambda key: key[:-1] + "\n",
        lambda key: "",
        lambda key: "x" * 10_000,
        lambda key: None,
        lambda key: 12345,
    ],
)
def test_every_wrong_key_is_refused_alike(company, mangle):
    _, raw_key = make_api_key(company)
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(raw_key=mangle(raw_key), client_ip="198.51.100.7")
    assert str(refused.value) == "Invalid or missing API key."


def test_expired_key_is_refused_and_its_use_audited_once_an_hour(company):
    api_key, raw_key = make_api_key(company, expires_at=timezone.now() + timedelta(days=1))
    APIKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            authenticate(raw_key=raw_key, client_ip="198.51.100.7", source=Source.SCIM)
    event = AuditEvent.objects.get(action="api_key.expired_key_used")
    assert event.company == company
    assert event.actor_kind == "client"
    assert event.actor_label == "198.51.100.7"
    assert event.client_ip == "198.51.100.7"
    assert event.source == "scim"
    assert event.target_id == str(api_key.pk)
    assert APIKey.objects.get(pk=api_key.pk).last_used_at is None


def test_revoked_key_use_is_audited(company):
    api_key, raw_key = make_api_key(company)
    revoke_api_key(api_key=api_key, actor=SYSTEM, source=Source.CLI)
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key=raw_key, client_ip="2001:db8::7")
    assert AuditEvent.objects.get(action="api_key.revoked_key_used").actor_label == "2001:db8::7"


def test_last_used_is_stamped_at_most_once_a_minute(company, django_assert_num_queries):
    api_key, raw_key = make_api_key(company)
    with django_assert_num_queries(2):  # the lookup, the first stamp
        authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    first = APIKey.objects.get(pk=api_key.pk)
    assert first.last_used_at is not None
    assert first.last_used_ip == "198.51.100.7"

    with django_assert_num_queries(0):  # the key as this process read it, stamp included
        authenticate(raw_key=raw_key, client_ip="203.0.113.5")
    assert APIKey.objects.get(pk=api_key.pk).last_used_ip == "198.51.100.7"

    a_minute_ago = timezone.now() - timedelta(seconds=61)
    APIKey.objects.filter(pk=api_key.pk).update(last_used_at=a_minute_ago)
    age_cached_keys(61)  # a minute later
    authenticate(raw_key=raw_key, client_ip="203.0.113.5")
    later = APIKey.objects.get(pk=api_key.pk)
    assert later.last_used_ip == "203.0.113.5"
    assert later.last_used_at > a_minute_ago


def test_api_key_is_an_audit_actor(company):
    api_key, _ = make_api_key(company, name="OneLogin")
    assert api_key.audit_identity() == ("api_key", None, f"API key 'OneLogin' ({api_key.prefix}…)")
    from accounts.audit import record_audit

    event = record_audit(actor=api_key, source=Source.SCIM, action="user.created", company=company)
    assert event.actor_kind == "api_key"
    assert event.actor_user is None


def test_unknown_client_address_still_works(company):
    api_key, raw_key = make_api_key(company)
    assert authenticate(raw_key=raw_key, client_ip="") == api_key
    assert APIKey.objects.get(pk=api_key.pk).last_used_ip is None
    assert ClientActor("198.51.100.7").audit_identity()[2] == "198.51.100.7"


def test_constant_time_comparison_is_used(company, monkeypatch):
    _, raw_key = make_api_key(company)
    compared = []
    real = services.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(services.hmac, "compare_digest", spy)
    authenticate(raw_key=raw_key, client_ip="198.51.100.7")
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key=raw_key[:4] + "q" * 12 + raw_key[16:], client_ip="198.51.100.7")
    assert len(compared) == 2  # an unknown prefix costs the same comparison


def test_authenticated_key_is_complete_and_its_company_needs_no_query(
    company, company_admin, django_assert_num_queries
):
    api_key, raw_key = make_api_key(
        company, actor=company_admin, scopes=["scim", "api:read"], expires_at=None
    )
    authenticate(raw_key=raw_key, client_ip="198.51.100.7")  # stamp last used, read the key
    with django_assert_num_queries(0):
        found = authenticate(raw_key=raw_key, client_ip="198.51.100.7")
        assert found.company.slug == "acme"
        assert found.company.is_enterprise
        assert found.company_id == company.pk
    stored = APIKey.objects.get(pk=api_key.pk)
    for field in APIKey._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(stored, field.attname), field.name
    assert found.scopes == ["scim", "api:read"]  # JSON converted, not a string
    assert found.company.created_at == company.created_at  # other fields load on access
    assert not hasattr(found, "company__id")


def test_authenticated_company_carries_its_policy_read_fresh_after_every_change(
    company, django_assert_num_queries
):
    from approvals.services import requires_approval, set_policy

    _, raw_key = make_api_key(company)
    with django_assert_num_queries(2):  # the key's own lookup answers the policy question too
        found = authenticate(raw_key=raw_key, client_ip="198.51.100.7")  # and stamps last used
        assert not requires_approval(found.company, "create")  # no policy row at all
    set_policy(
        company=company,
        require_create=True,
        require_update=False,
        require_delete=True,
        actor=SYSTEM,
        source=Source.CLI,
    )
    with django_assert_num_queries(1):  # the policy changed: the key is read again
        found = authenticate(raw_key=raw_key, client_ip="198.51.100.7")
        assert requires_approval(found.company, "create")
        assert not requires_approval(found.company, "update")
        assert requires_approval(found.company, "delete")
    with django_assert_num_queries(0):
        assert requires_approval(authenticate(raw_key=raw_key, client_ip="::1").company, "create")
    assert found.company.provisioning_policy.company is found.company
    # A company read without its policy still asks the database.
    assert requires_approval(company, "create")
