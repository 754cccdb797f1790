"""The quickstart's SQLite file under an identity provider's concurrent writes, served by
gunicorn as `make serve` would: writes wait for one another instead of failing with "database
is locked" (503), and case-insensitive filters fold Unicode as on PostgreSQL."""

import json
import os
import subprocess
import sys
from urllib.parse import quote

import pytest

from tests.processes import BASE_DIR, start_web
from tests.provisioning.test_scim_concurrency import at_once

pytestmark = pytest.mark.slow

SETUP = """
from accounts.audit import SYSTEM, Source
from accounts.models import Plan
from accounts.services import create_company, set_license_seats
from apikeys.services import create_api_key
from offices.services import create_office
company = create_company(
    name="Acme", slug="acme", plan=Plan.ENTERPRISE, actor=SYSTEM, source=Source.CLI
)
set_license_seats(company=company, license_type="talk", seats=50, actor=SYSTEM, source=Source.CLI)
create_office(
    company=company, name="HQ", country="US", timezone="UTC", actor=SYSTEM, source=Source.CLI
)
austin = create_office(
    company=company, name="Austin", country="US", timezone="UTC", actor=SYSTEM, source=Source.CLI
)
_, raw = create_api_key(company=company, name="IdP", actor=SYSTEM, source=Source.CLI)
print(raw, austin.pk)
"""


def test_racing_writes_on_the_sqlite_quickstart_wait_instead_of_failing(tmp_path):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env = {"DATABASE_URL": database, "DEBUG": "true", "REDIS_URL": "", "CELERY_BROKER_URL": ""}
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    process_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    for command in ("migrate", "createcachetable"):  # as `make run` does
        subprocess.run([*manage, command, "-v0"], env=process_env, check=True, cwd=BASE_DIR)  # noqa: S603 — ours
    raw, austin = (
        subprocess.run(  # noqa: S603 — our own manage.py
            [*manage, "shell", "-c", SETUP],
            env=process_env,
            check=True,
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
        .split()
    )
    web = start_web(tmp_path, "sqlite", workers=3, **env)
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/scim+json"}

    def send(method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        return web.request(method, f"/scim/v2/{path}", headers=headers, data=data)

    try:
        # `at_once` hands each thread a test client too: these go over HTTP instead.
        created = at_once(
            10,
            lambda _, n: send(
                "POST",
                "Users",
                {"userName": f"u{n}@acme.example", "name": {"familyName": f"ñandú {n}"}},
            ),
        )
        assert sorted(r.status for r in created) == [201] * 10, web.log()[-3000:]
        ids = [json.loads(r.body)["id"] for r in created]

        def join(_, n):
            operation = {"op": "add", "path": "members", "value": [{"value": ids[n]}]}
            patch = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [operation],
            }
            return send("PATCH", f"Groups/{austin}", patch)

        assert sorted(r.status for r in at_once(10, join)) == [200] * 10, web.log()[-3000:]
        group = json.loads(send("GET", f"Groups/{austin}").body)
        assert sorted(m["value"] for m in group["members"]) == sorted(ids)

        for query in ('name.familyName eq "ÑANDÚ 1"', 'name.familyName sw "ÑANDÚ 1"'):
            found = json.loads(send("GET", "Users?filter=" + quote(query)).body)
            assert found["totalResults"] == 1, (query, found)
        # The Lower() unique indexes, as on PostgreSQL: ASCII and Unicode case twins refused.
        assert send("POST", "Users", {"userName": "U1@ACME.EXAMPLE"}).status == 409
        eve = [{"value": "eve1@acme.example"}]
        assert send("POST", "Users", {"userName": "Éve", "emails": eve}).status == 201
        eve = [{"value": "eve2@acme.example"}]
        assert send("POST", "Users", {"userName": "éVE", "emails": eve}).status == 409
        assert "database is locked" not in web.log()
    finally:
        web.stop()
