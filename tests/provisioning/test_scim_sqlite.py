"""The quickstart's SQLite file under an identity provider's concurrent writes, served by
gunicorn as `make serve` would: writes wait for one another instead of failing with "database
is locked" (503), and case-insensitive filters fold Unicode as on PostgreSQL."""

import json
import os
import subprocess
import sys
import threading
from urllib.parse import quote

import pytest

from tests.processes import BASE_DIR, start_web

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


def at_once(count, request):
    start = threading.Barrier(count)
    answers = []

    def run(n):
        start.wait()
        answers.append(request(n))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


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
    try:

        def create(n):
            body = {"userName": f"u{n}@acme.example", "name": {"familyName": f"ñandú {n}"}}
            return web.request(
                "POST", "/scim/v2/Users", headers=headers, data=json.dumps(body).encode()
            )

        created = at_once(10, create)
        assert sorted(r.status for r in created) == [201] * 10, web.log()[-3000:]
        ids = [json.loads(r.body)["id"] for r in created]

        def join(n):
            operation = {"op": "add", "path": "members", "value": [{"value": ids[n]}]}
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [operation],
            }
            return web.request(
                "PATCH",
                f"/scim/v2/Groups/{austin}",
                headers=headers,
                data=json.dumps(body).encode(),
            )

        assert sorted(r.status for r in at_once(10, join)) == [200] * 10, web.log()[-3000:]
        group = json.loads(web.request("GET", f"/scim/v2/Groups/{austin}", headers=headers).body)
        assert sorted(m["value"] for m in group["members"]) == sorted(ids)

        found = web.request(
            "GET",
            "/scim/v2/Users?filter=" + quote('name.familyName sw "ÑANDÚ 1"'),
            headers=headers,
        )
        assert json.loads(found.body)["totalResults"] == 1, found.body
        refused = web.request(
            "POST",
            "/scim/v2/Users",
            headers=headers,
            data=json.dumps({"userName": "U1@ACME.EXAMPLE"}).encode(),
        )
        assert refused.status == 409  # the Lower() unique index, as on PostgreSQL
        unicode_twin = web.request(
            "POST",
            "/scim/v2/Users",
            headers=headers,
            data=json.dumps(
                {"userName": "Éve", "emails": [{"value": "eve1@acme.example"}]}
            ).encode(),
        )
        assert unicode_twin.status == 201
        again = web.request(
            "POST",
            "/scim/v2/Users",
            headers=headers,
            data=json.dumps(
                {"userName": "éVE", "emails": [{"value": "eve2@acme.example"}]}
            ).encode(),
        )
        assert again.status == 409, again.body
        assert "database is locked" not in web.log()
    finally:
        web.stop()
