import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from apikeys.models import APIKey
from apikeys.services import AuthenticationFailed, authenticate
from tests.apikeys.factories import make_api_key

pytestmark = pytest.mark.django_db


def test_create_api_key_prints_only_the_key(company, capsys):
    call_command("create_api_key", "--company", "acme", "--name", "OneLogin")
    out, err = capsys.readouterr()
    raw_key = out.strip()
    assert re.fullmatch(r"sbk_[a-z0-9]{12}_[A-Za-z0-9]{43}", raw_key)
    assert out == raw_key + "\n"
    assert "shown only this once" in err
    assert raw_key not in err
    api_key = authenticate(raw_key=raw_key, client_ip="198.51.100.1")
    assert api_key.company == company
    assert api_key.expires_at is None
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.source == "cli"
    assert event.actor_label == "manage.py create_api_key"


def test_create_api_key_with_expiry_and_scopes(company, capsys):
    call_command(
        "create_api_key",
        "--company=acme",
        "--name=Reports",
        "--expires-in-days=30",
        "--scope=api:read",
        "--scope=api:write",
    )
    api_key = APIKey.objects.get(name="Reports")
    assert api_key.scopes == ["api:read", "api:write"]
    assert 29 <= (api_key.expires_at - api_key.created_at).days <= 30


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--company", "nope", "--name", "x"], "No company with the slug 'nope'"),
        (["--company", "acme", "--name", ""], "Give the key a name"),
        (["--company", "acme", "--name", "x" * 101], "at most 100"),
        (["--company", "acme", "--name", "x", "--expires-in-days", "0"], "from 1 to 3650"),
    ],
)
def test_create_api_key_errors(company, args, words):
    with pytest.raises(CommandError, match=words):
        call_command("create_api_key", *args)
    assert not APIKey.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_create_api_key_output_can_be_captured_by_a_script(company):
    # stdout of a real process holds the key and nothing else.
    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "--company", "acme", "--name", "ci"],
        capture_output=True,
        text=True,
        check=False,
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": _test_database_url(),
        },
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"sbk_[a-z0-9]{12}_[A-Za-z0-9]{43}\n", result.stdout)


def _test_database_url():
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_revoke_api_key(company, capsys):
    api_key, raw_key = make_api_key(company)
    call_command("revoke_api_key", "--company", "acme", "--prefix", api_key.prefix)
    assert "Revoked" in capsys.readouterr().out
    with pytest.raises(AuthenticationFailed):
        authenticate(raw_key=raw_key, client_ip="198.51.100.1")
    assert AuditEvent.objects.get(action="api_key.revoked").source == "cli"


def test_revoke_accepts_the_prefix_as_the_list_shows_it(company):
    api_key, _ = make_api_key(company)
    call_command("revoke_api_key", "--company", "acme", "--prefix", f"{api_key.prefix}…")
    assert APIKey.objects.get(pk=api_key.pk).revoked_at is not None


def test_revoke_api_key_errors(company, other_company):
    api_key, _ = make_api_key(company)
    theirs, _ = make_api_key(other_company)
    with pytest.raises(CommandError, match="No company with the slug 'nope'"):
        call_command("revoke_api_key", "--company", "nope", "--prefix", api_key.prefix)
    with pytest.raises(CommandError, match="No API key with the prefix 'sbk_zzz'"):
        call_command("revoke_api_key", "--company", "acme", "--prefix", "sbk_zzz")
    # Another company's prefix is not found from this company.
    with pytest.raises(CommandError, match="No API key"):
        call_command("revoke_api_key", "--company", "acme", "--prefix", theirs.prefix)
    call_command("revoke_api_key", "--company", "acme", "--prefix", api_key.prefix)
    with pytest.raises(CommandError, match="already revoked"):
        call_command("revoke_api_key", "--company", "acme", "--prefix", api_key.prefix)
    assert APIKey.objects.get(pk=theirs.pk).revoked_at is None
