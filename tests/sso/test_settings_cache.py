"""The SAML settings each process keeps for the ACS (sso/settings_cache.py): a sign-in reads no
settings from the database, and still every change holds from the very next sign-in in every
process.

A test here changes the settings "as another process would see it": this process keeps the
entries it held before the change (another process's memory gets no signal) and learns of it
only through the shared settings epoch, set when the change commits. With commit=False the new
epoch never comes: that test shows the entry would be used, so the others can fail.
"""

import functools
import logging
import threading
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from accounts.audit import SYSTEM, Source
from accounts.models import Plan
from accounts.services import update_company
from sso import services, settings_cache
from sso.models import SAMLConfig
from tests import epochs
from tests.accounts.factories import UserFactory
from tests.processes import free_port
from tests.sso.conftest import refusals

ACS = "/sso/acme/acs/"
DEAD_CACHE = {
    "default": {
        "BACKEND": "core.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:{port}/0",  # nothing listens there
    }
}


@pytest.fixture
def ada(company):
    return UserFactory(company=company, email="ada@acme.example")


changed_elsewhere = functools.partial(epochs.changed_elsewhere, settings_cache._cache)


def settings_reads(queries):
    table = connection.ops.quote_name(SAMLConfig._meta.db_table)
    return [q["sql"] for q in queries.captured_queries if table in q["sql"]]


def sign_in(idp, email="ada@acme.example"):
    """A fresh browser posting a fresh assertion: the status of the ACS's answer."""
    from django.test import Client

    return Client().post(ACS, {"SAMLResponse": idp.response(email)}).status_code


def held(idp):
    """Two sign-ins: the first reads the settings, the second uses this process's entry."""
    assert sign_in(idp) == 302
    with CaptureQueriesContext(connection) as queries:
        assert sign_in(idp) == 302
    assert settings_reads(queries) == []
    assert "acme" in settings_cache._entries


def use_new_certificate(door, keys):
    if door == "service":
        services.configure_saml(
            company=SAMLConfig.objects.get().company,
            actor=SYSTEM,
            source=Source.CLI,
            idp_certificate=keys["acme_next"].cert_pem,
        )
    else:
        call_command(
            "configure_saml", "--company=acme", f"--idp-cert-file={keys['acme_next'].cert_file}"
        )


def test_a_sign_in_with_settings_read_recently_does_not_read_them_again(acme_saml, acme_idp, ada):
    with CaptureQueriesContext(connection) as first:
        assert sign_in(acme_idp) == 302
    with CaptureQueriesContext(connection) as second:
        assert sign_in(acme_idp) == 302
    assert len(settings_reads(first)) == 1
    assert settings_reads(second) == []
    assert len(second) == len(first) - 1


def test_each_sign_in_gets_copies_of_its_own(acme_saml, acme_idp, ada):
    held(acme_idp)
    first = settings_cache.company_with_saml_config("acme", cache.get(settings_cache.EPOCH_KEY))
    second = settings_cache.company_with_saml_config("acme", cache.get(settings_cache.EPOCH_KEY))
    assert first == second
    assert first is not second
    assert first.saml_config is not second.saml_config
    assert first.saml_config.company is first
    first.saml_config.enabled = False
    assert second.saml_config.enabled is True


@pytest.mark.parametrize("door", ["service", "command"])
def test_a_new_certificate_refuses_the_old_one_at_the_next_sign_in(
    acme_saml, acme_idp, idps, keys, ada, door
):
    held(acme_idp)
    with changed_elsewhere():
        use_new_certificate(door, keys)
    assert "acme" in settings_cache._entries  # still held, under the old epoch
    assert sign_in(acme_idp) == 403
    assert refusals("bad_signature").count() == 1
    assert sign_in(idps["acme_next"]) == 302


def test_without_the_new_epoch_the_held_entry_would_be_used(acme_saml, acme_idp, keys, ada):
    held(acme_idp)
    with changed_elsewhere(commit=False):
        use_new_certificate("service", keys)
    assert sign_in(acme_idp) == 302  # what the epoch, and the tests around this one, prevent


def test_the_process_that_makes_a_change_forgets_its_entries_at_once(
    acme_saml, acme_idp, keys, ada
):
    held(acme_idp)
    use_new_certificate("service", keys)  # no commit yet: no new epoch
    assert settings_cache._entries == {}
    assert sign_in(acme_idp) == 403


@pytest.mark.parametrize(
    "change",
    [
        {"enabled": False},
        {"allow_idp_initiated": False},
        {"idp_entity_id": "https://idp.example.test/saml/metadata/other"},
    ],
    ids=["sso-off", "idp-initiated-off", "other-issuer"],
)
def test_a_settings_change_refuses_at_the_next_sign_in(acme_saml, acme_idp, ada, change):
    held(acme_idp)
    with changed_elsewhere():
        services.configure_saml(
            company=acme_saml.company, actor=SYSTEM, source=Source.CLI, **change
        )
    assert sign_in(acme_idp) == 403


def test_a_plan_downgrade_refuses_at_the_next_sign_in(acme_saml, acme_idp, ada, company):
    held(acme_idp)
    with changed_elsewhere():
        update_company(company=company, actor=SYSTEM, source=Source.CLI, plan=Plan.STANDARD)
    assert sign_in(acme_idp) == 403


def test_a_deleted_company_is_404_at_the_next_sign_in(acme_saml, acme_idp, ada, company):
    held(acme_idp)
    with changed_elsewhere():
        company.delete()
    assert sign_in(acme_idp) == 404


def test_another_process_s_new_epoch_replaces_every_entry(acme_saml, acme_idp, keys, ada):
    held(acme_idp)
    SAMLConfig.objects.update(idp_certificate=keys["acme_next"].cert_pem)  # sends no signal
    assert sign_in(acme_idp) == 302  # no new epoch: the entry is used
    cache.set(settings_cache.EPOCH_KEY, "set by another process", timeout=None)
    assert sign_in(acme_idp) == 403


def test_an_entry_older_than_max_age_is_read_again(acme_saml, acme_idp, keys, ada):
    held(acme_idp)
    SAMLConfig.objects.update(enabled=False)  # its epoch was lost
    for entry in settings_cache._entries.values():
        entry.loaded_at -= settings_cache.MAX_AGE
    assert sign_in(acme_idp) == 403


def test_without_an_epoch_the_settings_are_read_and_a_new_epoch_added(acme_saml, acme_idp, ada):
    held(acme_idp)
    cache.delete(settings_cache.EPOCH_KEY)  # the shared cache restarted
    with CaptureQueriesContext(connection) as queries:
        assert sign_in(acme_idp) == 302
    assert len(settings_reads(queries)) == 1
    assert isinstance(cache.get(settings_cache.EPOCH_KEY), str)
    assert settings_cache._entries["acme"].epoch == cache.get(settings_cache.EPOCH_KEY)


def test_the_entry_is_kept_only_when_this_process_added_the_epoch(acme_saml, monkeypatch):
    real_add = cache.add

    def another_process_first(key, *args, **kwargs):
        cache.set(key, "another process's", timeout=None)
        return real_add(key, *args, **kwargs)

    monkeypatch.setattr(cache, "add", another_process_first)
    company = settings_cache.company_with_saml_config("acme", None)
    assert company is not None
    assert company.saml_config == acme_saml
    assert settings_cache._entries == {}


def test_sign_in_while_the_shared_cache_is_down_reads_the_database(acme_saml, acme_idp, ada):
    dead = {"default": {**DEAD_CACHE["default"]}}
    dead["default"]["LOCATION"] = dead["default"]["LOCATION"].format(port=free_port())
    with override_settings(CACHES=dead):
        assert sign_in(acme_idp) == 302
        assert settings_cache._entries == {}  # nothing kept without an epoch to check it against
        SAMLConfig.objects.update(enabled=False)
        assert sign_in(acme_idp) == 403


def test_a_change_while_the_shared_cache_is_down_still_commits_and_says_so(
    acme_saml, acme_idp, ada, caplog
):
    held(acme_idp)
    dead = {"default": {**DEAD_CACHE["default"]}}
    dead["default"]["LOCATION"] = dead["default"]["LOCATION"].format(port=free_port())
    with (
        override_settings(CACHES=dead),
        caplog.at_level(logging.ERROR, "switchboard.sso"),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        services.configure_saml(
            company=acme_saml.company, actor=SYSTEM, source=Source.CLI, enabled=False
        )
    assert SAMLConfig.objects.get().enabled is False
    assert "up to 60 seconds" in caplog.text
    assert settings_cache._entries == {}
    assert sign_in(acme_idp) == 403  # this process read them again


def test_a_new_certificate_refuses_the_old_one_at_once_on_every_web_process(
    web_processes, acme_saml, idps, keys, company
):
    UserFactory(company=company, email="ada@acme.example")
    first, second = web_processes(2)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def statuses(idp):
        start = threading.Barrier(2)
        answers = {}

        def post(web):
            body = urlencode({"SAMLResponse": idp.response("ada@acme.example")}).encode()
            start.wait()
            answers[web.url] = web.request("POST", ACS, headers=headers, data=body).status

        threads = [threading.Thread(target=post, args=(web,)) for web in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [answers[first.url], answers[second.url]]

    assert statuses(idps["acme"]) == [302, 302]  # each process reads the settings
    # Each keeps what it read: a write that sets no new epoch goes unseen (for MAX_AGE at most).
    SAMLConfig.objects.update(idp_certificate=keys["acme_next"].cert_pem)
    assert statuses(idps["acme"]) == [302, 302]
    SAMLConfig.objects.update(idp_certificate=keys["acme"].cert_pem)

    services.configure_saml(
        company=company,
        actor=SYSTEM,
        source=Source.CLI,
        idp_certificate=keys["acme_next"].cert_pem,
    )
    assert statuses(idps["acme"]) == [403, 403]
    assert statuses(idps["acme_next"]) == [302, 302]
