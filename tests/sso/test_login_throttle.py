"""/login/'s password step: wrong passwords block the account and the client address (429)."""

import time

import pytest

from accounts.audit import Source
from accounts.models import AuditEvent
from sso.throttle import AccountFailureThrottle
from tests.apikeys.test_throttle import redis_cache_client
from tests.sso.test_acs import post as acs_post
from tests.sso.test_login import PASSWORD, email_step

ADMIN = "admin@acme.example"
ELSEWHERE = "198.51.100.7"


@pytest.fixture
def limits(settings):
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 5
    return settings


def password_step(client, email, password=PASSWORD, **extra):
    data = {"step": "password", "email": email, "password": password, "next": "/app/"}
    return client.post("/login/", data, **extra)


def wrong(client, email=ADMIN, times=1, **extra):
    for _ in range(times):
        response = password_step(client, email, password="guess", **extra)
        assert response.status_code == 400, response.content[:300]


def signed_in(client):
    return "_auth_user_id" in client.session


def throttled_events():
    return AuditEvent.objects.filter(action="auth.login_throttled")


def test_wrong_passwords_block_the_account_with_429_and_retry_after(client, limits, company_admin):
    wrong(client, times=2)
    response = password_step(client, ADMIN, password="guess")  # the limit-th
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= limits.LOGIN_BLOCK_SECONDS
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.content.decode()


def test_a_blocked_account_refuses_the_right_password_without_checking_it(
    client, limits, company_admin, monkeypatch
):
    wrong(client, times=3 - 1)
    password_step(client, ADMIN, password="guess")

    def must_not_check(*args, **kwargs):
        raise AssertionError("the password was checked while blocked")

    monkeypatch.setattr("sso.views.auth.authenticate", must_not_check)
    response = password_step(client, ADMIN)
    assert response.status_code == 429
    assert "Retry-After" in response
    assert not signed_in(client)
    # From another address too: the account's block stops a guess spread over many clients.
    response = password_step(client, ADMIN, REMOTE_ADDR=ELSEWHERE)
    assert response.status_code == 429


def test_other_accounts_from_the_same_address_until_the_address_limit(
    client, limits, company, company_admin, member
):
    wrong(client, email="nobody@acme.example", times=2)
    wrong(client, email="member@acme.example", times=2)
    # Four failures from this address, none reached an account's limit: the admin still signs in.
    assert password_step(client, ADMIN).status_code == 302
    client.logout()
    # That success clears the admin's count, not the address's: the fifth failure blocks it.
    response = password_step(client, "someone@acme.example", password="guess")
    assert response.status_code == 429
    assert password_step(client, ADMIN).status_code == 429
    assert not signed_in(client)
    # Another address is not blocked.
    other = password_step(client, ADMIN, REMOTE_ADDR=ELSEWHERE)
    assert other.status_code == 302
    event = throttled_events().get()
    assert event.after["blocked"] == "address"
    assert event.actor_label == "127.0.0.1"
    assert event.company is None  # an address's block holds for every company


def test_a_right_password_clears_the_accounts_count(client, limits, company_admin):
    wrong(client, times=2)
    assert password_step(client, ADMIN).status_code == 302
    client.logout()
    wrong(client, times=2, REMOTE_ADDR=ELSEWHERE)  # 2 of 3 again: not blocked
    assert password_step(client, ADMIN, REMOTE_ADDR=ELSEWHERE).status_code == 302


def test_the_block_is_shared_by_separate_cache_clients(client, limits, company_admin):
    first, second = redis_cache_client(), redis_cache_client()
    assert first._cache is not second._cache
    assert AccountFailureThrottle(first).record_failure(ADMIN) is False
    assert AccountFailureThrottle(second).record_failure(ADMIN.upper()) is False
    assert AccountFailureThrottle(first).record_failure(ADMIN) is True
    assert AccountFailureThrottle(second).blocked_for(ADMIN) is not None
    assert password_step(client, ADMIN).status_code == 429


def test_the_block_ends_after_its_time(client, limits, company_admin):
    limits.LOGIN_BLOCK_SECONDS = 1
    wrong(client, times=2)
    response = password_step(client, ADMIN, password="guess")
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert "Try again in 1 minute." in response.content.decode()
    time.sleep(1.1)  # the block's own cache TTL, not a copy of the clock
    # A fresh window: one wrong password is just wrong again, and the right one signs in.
    wrong(client)
    assert password_step(client, ADMIN).status_code == 302


def test_the_block_is_audited_once_with_the_company(
    client, limits, company, acme_domain, company_admin
):
    wrong(client, times=2)
    for _ in range(4):
        assert password_step(client, ADMIN, password="guess").status_code == 429
    event = throttled_events().get()
    assert event.company == company
    assert event.actor_kind == "client"
    assert event.client_ip == "127.0.0.1"
    assert event.after["blocked"] == "account"
    assert event.after["email"] == ADMIN
    assert event.after["failures"] == 3
    # Blocked attempts are not checked, so they are not bad credentials either.
    refused = AuditEvent.objects.filter(action="auth.sign_in_refused")
    assert refused.count() == 3


def test_sso_is_never_blocked(client, limits, acme_saml, acme_idp, company_admin):
    wrong(client, times=2)
    wrong(client, email="member@acme.example", times=2)
    assert password_step(client, ADMIN, password="guess").status_code == 429
    # The account and the address are both blocked now.
    assert password_step(client, ADMIN).status_code == 429
    response = email_step(client, ADMIN)
    assert response.status_code == 302
    assert response["Location"].startswith("/sso/acme/login/")
    response = acs_post(client, acme_idp.response(ADMIN))
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(company_admin.pk)
    assert throttled_events().count() == 2


def test_blocked_page_offers_sso_when_the_company_has_it(client, limits, acme_saml, company_admin):
    wrong(client, times=2)
    response = password_step(client, ADMIN, password="guess")
    body = response.content.decode()
    assert "Try again in 15 minutes, or sign in with SSO." in body
    assert "/sso/acme/login/" in body


# --- the admin's password change: the same secret, the same budget of guesses ---


def change_password(client, old_password):
    data = {
        "old_password": old_password,
        "new_password1": "a-new-Passphrase-42",
        "new_password2": "a-new-Passphrase-42",
    }
    return client.post("/admin/password_change/", data)


def test_wrong_current_passwords_on_the_admin_password_change_block_the_account(
    client, limits, company_admin, monkeypatch
):
    """A stolen session must not guess the current password there, unthrottled: its failures
    count against the account as /login/'s do, and a blocked account's is not checked."""
    client.force_login(company_admin)
    for _ in range(2):
        response = change_password(client, "guess")
        assert response.status_code == 200
        assert "Your old password was entered incorrectly" in response.content.decode()
    response = change_password(client, "guess")  # the limit-th
    assert "Too many wrong passwords. Try again in 15 minutes." in response.content.decode()
    assert throttled_events().filter(after__blocked="account").count() == 1

    monkeypatch.setattr(
        "django.contrib.auth.base_user.AbstractBaseUser.check_password",
        lambda *args: pytest.fail("the password was checked while blocked"),
    )
    response = change_password(client, PASSWORD)
    assert "Too many wrong passwords. Try again in 15 minutes." in response.content.decode()
    monkeypatch.undo()
    company_admin.refresh_from_db()
    assert company_admin.check_password(PASSWORD)
    # The sign-in page holds the same block: one budget of guesses per account.
    client.logout()
    assert password_step(client, ADMIN).status_code == 429


def test_the_right_current_password_changes_it_and_clears_the_failures(
    client, limits, company_admin
):
    client.force_login(company_admin)
    change_password(client, "guess")
    change_password(client, "guess")
    response = change_password(client, PASSWORD)
    assert response.status_code == 302, response.content[:300]
    wrong(client, times=2)  # a fresh count: the earlier two are forgotten
    assert password_step(client, ADMIN, password="a-new-Passphrase-42").status_code == 302


def test_the_admins_password_change_is_in_the_audit_log(client, limits, company_admin):
    """Set through the service every password set goes through: the company's log says who
    changed it, from where, and never what it is."""
    client.force_login(company_admin)
    response = change_password(client, PASSWORD)
    assert response.status_code == 302, response.content[:300]
    event = AuditEvent.objects.get(action="user.password_set")
    assert event.company == company_admin.company
    assert event.actor_user == company_admin
    assert event.target_id == str(company_admin.pk)
    assert event.source == Source.ADMIN
    assert "a-new-Passphrase-42" not in str([event.before, event.after, event.target_label])
    company_admin.refresh_from_db()
    assert company_admin.check_password("a-new-Passphrase-42")
    # The session that changed it stays signed in (its hash was updated).
    assert client.get("/admin/").status_code == 200
