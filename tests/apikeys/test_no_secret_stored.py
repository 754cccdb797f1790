"""The database never holds a key: after keys are made through every door (service, admin page,
command line) and used, no text in any table contains a key or its random part."""

import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts.audit import Source
from apikeys.services import (
    AuthenticationFailed,
    authenticate,
    create_api_key,
    revoke_api_key,
)
from tests.apikeys.factories import make_api_key, tampered

pytestmark = pytest.mark.django_db

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea")


def tables_holding(needle: str) -> list[str]:
    """Every `table.column` of the public schema whose text contains `needle`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = ANY(%s)",
            [list(TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        assert len(columns) > 20  # the scan really walks the schema
        found = []
        for table, column, data_type in columns:
            value = (
                f"convert_from({connection.ops.quote_name(column)}, 'UTF8')"
                if data_type == "bytea"
                else f"{connection.ops.quote_name(column)}::text"
            )
            cursor.execute(
                f"SELECT 1 FROM {connection.ops.quote_name(table)} "  # noqa: S608 (names from the catalogue)
                f"WHERE strpos({value}, %s) > 0 LIMIT 1",
                [needle],
            )
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


def test_no_table_holds_a_key(company, company_admin, company_admin_client, capsys):
    keys = []
    # The service …
    keys.append(
        create_api_key(company=company, name="svc", actor=company_admin, source=Source.ADMIN)[1]
    )
    # … the admin page (its session is in the database too) …
    response = company_admin_client.post(
        reverse("admin:apikeys_apikey_add"),
        {"name": "page", "expires_on": "", "scopes": ["scim"]},
        follow=True,
    )
    keys.append(re.search(r"sbk_[a-z0-9]{12}_[A-Za-z0-9]{43}", response.content.decode()).group(0))
    company_admin_client.get(reverse("admin:apikeys_apikey_changelist"))
    # … the command line …
    call_command("create_api_key", "--company", "acme", "--name", "cli")
    keys.append(capsys.readouterr().out.strip())
    # … then used, used wrongly, revoked and used again.
    for raw_key in keys:
        api_key = authenticate(raw_key=raw_key, client_ip="198.51.100.1")
        with pytest.raises(AuthenticationFailed):
            authenticate(raw_key=tampered(raw_key), client_ip="198.51.100.2")
        revoke_api_key(api_key=api_key, actor=company_admin, source=Source.ADMIN)
        with pytest.raises(AuthenticationFailed):
            authenticate(raw_key=raw_key, client_ip="198.51.100.3")

    assert len(set(keys)) == 3
    for raw_key in keys:
        prefix, _, secret = raw_key.rpartition("_")
        # The scan finds what is meant to be stored (the prefix), so an empty answer means
        # something below.
        assert "apikeys_apikey.prefix" in tables_holding(prefix)
        assert tables_holding(raw_key) == []
        assert tables_holding(secret) == []
        assert tables_holding(secret[:16]) == []


def test_the_cache_holds_no_key(company):
    _, raw_key = make_api_key(company)
    authenticate(raw_key=raw_key, client_ip="198.51.100.1")
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            authenticate(raw_key=tampered(raw_key), client_ip="198.51.100.2")
    client = cache._cache.get_client()  # the Redis of the test run
    secret = raw_key.rpartition("_")[2]
    entries = list(client.scan_iter("*"))
    assert entries  # the failures were counted there
    for entry in entries:
        value = client.get(entry) if client.type(entry) == b"string" else b""
        assert secret.encode() not in entry + (value or b"")
