"""Outages on the real pieces: a gunicorn against a PostgreSQL and a Redis of the test's own,
which the test kills (SIGKILL) and starts again, or freezes (SIGSTOP) and resumes (SIGCONT), by
pid — never the machine's shared servers. Every answer comes within its documented time and is
never a 500; a write answered 2xx is in the database afterwards, one answered 5xx left nothing.

Timeouts are set low here (DB_STATEMENT_TIMEOUT 2 s, DB_DEADLINE_MARGIN 0.5 s, DB_CONNECT_TIMEOUT
2 s) so the module runs in seconds; README › Production › Faults gives the defaults."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest

from tests.processes import (
    BASE_DIR,
    BIN,
    PostgresServer,
    RedisServer,
    Response,
    WebProcess,
    base_env,
    start_web,
)

pytestmark = pytest.mark.slow

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PASSWORD = "correct-horse-battery-staple"
ADMIN = "admin@acme.example"
TIMEOUTS = {
    "DB_STATEMENT_TIMEOUT": "2",
    "DB_CONSOLE_STATEMENT_TIMEOUT": "2",
    "DB_DEADLINE_MARGIN": "0.5",
    "DB_CONNECT_TIMEOUT": "2",
    "CACHE_CONNECT_TIMEOUT": "0.5",
    "CACHE_SOCKET_TIMEOUT": "1",
}
# What a request may cost, documented in README › Production › Faults, with the values above:
# Redis down or frozen: one cache timeout (0.5 + 1 s) and the request's own work;
REDIS_FAULT_SECONDS = 2.5
# PostgreSQL frozen: statement timeout + margin + one connect timeout (2 + 0.5 + 2 s).
POSTGRES_FAULT_SECONDS = 5.5
HEALTHZ_SECONDS = 2.5

SEED = f"""
import django
django.setup()
from tests.accounts.factories import CompanyAdminFactory, CompanyFactory
from tests.apikeys.factories import make_api_key
from tests.offices.factories import OfficeFactory

company = CompanyFactory(slug="acme", name="Acme", seats=100)
OfficeFactory(company=company, name="HQ", is_main=True, country="US")
admin = CompanyAdminFactory(company=company, email={ADMIN!r})
admin.set_password({PASSWORD!r})
admin.save()
print(make_api_key(company, scopes=["scim", "api:read", "api:write"])[1])
"""


@dataclass
class Stack:
    postgres: PostgresServer
    redis: RedisServer
    web: WebProcess
    key: str

    def scim(
        self, method: str, path: str, body: dict | None = None, *, key: str | None = None
    ) -> Response:
        headers = {
            "Authorization": f"Bearer {key or self.key}",
            "Content-Type": "application/scim+json",
        }
        data = json.dumps(body).encode() if body is not None else None
        return self.web.request(method, "/scim/v2/" + path, headers=headers, data=data)

    def users_named(self, user_name: str) -> int:
        with psycopg.connect(self.postgres.url.replace("postgres://", "postgresql://")) as db:
            row = db.execute(
                "SELECT count(*) FROM accounts_user WHERE lower(scim_user_name) = lower(%s)",
                [user_name],
            ).fetchone()
        assert row is not None
        return int(row[0])

    def title_of(self, user_id: str) -> str:
        with psycopg.connect(self.postgres.url.replace("postgres://", "postgresql://")) as db:
            row = db.execute("SELECT title FROM accounts_user WHERE id = %s", [int(user_id)])
            found = row.fetchone()
        assert found is not None
        return str(found[0])


def _manage(env: dict[str, str], *args: str, script: str | None = None) -> str:
    command = [str(BIN / "python"), *(["-c", script] if script else ["manage.py", *args])]
    result = subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("outages")
    postgres = PostgresServer()
    redis = RedisServer(workdir)
    web = None
    try:
        postgres.start()
        redis.start()
        env = base_env(DATABASE_URL=postgres.url, REDIS_URL=redis.url, **TIMEOUTS)
        _manage(env, "migrate", "--no-input", "-v", "0")
        key = _manage(env, script=SEED).strip().splitlines()[-1]
        web = start_web(
            workdir,
            "web",
            workers=2,
            DATABASE_URL=postgres.url,
            REDIS_URL=redis.url,
            **TIMEOUTS,
        )
        yield Stack(postgres, redis, web, key)
    finally:
        if web is not None:
            web.stop()
        redis.stop()
        postgres.stop()


def timed(call, *args, **kwargs) -> tuple[Response, float]:
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def new_user(user_name: str) -> dict:
    return {
        "schemas": [CORE],
        "userName": user_name,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
    }


def retitle(title: str) -> dict:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": title}]}


def password_sign_in(web: WebProcess) -> Response:
    page = web.request("GET", "/login/")
    csrf = page.cookies()["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, page.text[:500]
    form = {
        "csrfmiddlewaretoken": token.group(1),
        "step": "password",
        "email": ADMIN,
        "password": PASSWORD,
        "next": "/app/",
    }
    return web.request(
        "POST",
        "/login/",
        headers={
            "Cookie": f"csrftoken={csrf}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": web.url + "/login/",
        },
        data=urlencode(form).encode(),
    )


def assert_every_door_serves(stack: Stack, label: str, limit: float) -> None:
    """SCIM GET/POST/PATCH, REST and the password step answer 2xx/3xx within `limit`."""
    created, took = timed(stack.scim, "POST", "Users", new_user(f"{label}@acme.example"))
    assert created.status == 201, created.text[:300]
    assert took < limit, f"POST took {took:.1f}s"
    user_id = json.loads(created.body)["id"]
    for method, path, body in (
        ("GET", "Users?filter=" + "userName%20eq%20%22" + label + "%40acme.example%22", None),
        ("GET", f"Users/{user_id}", None),
        ("PATCH", f"Users/{user_id}", retitle(f"{label} title")),
    ):
        response, took = timed(stack.scim, method, path, body)
        assert response.status == 200, (method, path, response.text[:300])
        assert took < limit, f"{method} {path} took {took:.1f}s"
    rest, took = timed(
        stack.web.request,
        "GET",
        "/api/v1/users/",
        headers={"Authorization": f"Bearer {stack.key}"},
    )
    assert rest.status == 200, rest.text[:300]
    assert took < limit
    signed_in, took = timed(password_sign_in, stack.web)
    assert signed_in.status == 302, signed_in.text[:500]
    assert signed_in.headers["Location"] == "/app/"
    assert took < 2 * limit  # two requests: the page and the form
    # What got 2xx is in the database.
    assert stack.users_named(f"{label}@acme.example") == 1
    assert stack.title_of(user_id) == f"{label} title"


def healthz(stack: Stack) -> tuple[Response, float]:
    return timed(stack.web.request, "GET", "/healthz")


def test_everything_serves_while_redis_is_down(stack):
    assert_every_door_serves(stack, "before-redis-down", REDIS_FAULT_SECONDS)
    stack.redis.stop()
    try:
        assert_every_door_serves(stack, "redis-down", REDIS_FAULT_SECONDS)
        # A bad key is still refused (401: no failure can be counted without Redis).
        refused = stack.scim("GET", "Users", key="sbk_" + "x" * 56)
        assert refused.status == 401
        assert json.loads(refused.body)["schemas"] == [SCIM_ERROR]
        health, took = healthz(stack)
        assert health.status == 503
        assert json.loads(health.body)["checks"]["cache"]["status"] == "unavailable"
        assert took < HEALTHZ_SECONDS
    finally:
        stack.redis.start()
    time.sleep(0.1)
    assert_every_door_serves(stack, "after-redis-down", REDIS_FAULT_SECONDS)
    assert "Internal Server Error" not in stack.web.log()


def test_everything_serves_while_redis_is_frozen(stack):
    stack.redis.freeze()
    try:
        assert_every_door_serves(stack, "redis-frozen", REDIS_FAULT_SECONDS)
        health, took = healthz(stack)
        assert health.status == 503
        assert took < HEALTHZ_SECONDS
    finally:
        stack.redis.resume()
    assert_every_door_serves(stack, "after-redis-frozen", REDIS_FAULT_SECONDS)
    assert "Internal Server Error" not in stack.web.log()


def test_a_killed_postgresql_is_an_immediate_503_until_it_is_back(stack):
    assert stack.scim("GET", "Users?count=1").status == 200
    stack.postgres.kill()
    try:
        post, took_post = timed(stack.scim, "POST", "Users", new_user("pg-down@acme.example"))
        get, took_get = timed(stack.scim, "GET", "Users?count=5")
        health, took_health = healthz(stack)
    finally:
        stack.postgres.run()
    for response, took in ((post, took_post), (get, took_get)):
        assert response.status == 503, response.text[:300]
        assert response.headers["Retry-After"] == "30"
        assert json.loads(response.body)["schemas"] == [SCIM_ERROR]
        assert took < POSTGRES_FAULT_SECONDS
    assert health.status == 503
    assert took_health < HEALTHZ_SECONDS
    assert stack.users_named("pg-down@acme.example") == 0
    assert_every_door_serves(stack, "after-pg-down", REDIS_FAULT_SECONDS)
    assert "Internal Server Error" not in stack.web.log()


def test_a_frozen_postgresql_is_a_fast_503_and_leaves_nothing_half_written(stack):
    # Both workers hold a pooled connection before the freeze; an admin is signed in.
    for _ in range(4):
        assert stack.scim("GET", "Users?count=1").status == 200
    session = password_sign_in(stack.web).cookies()["sessionid"]
    stack.postgres.freeze()
    try:
        answers = {
            "post": timed(stack.scim, "POST", "Users", new_user("pg-frozen@acme.example")),
            "get": timed(stack.scim, "GET", "Users?count=5"),
            "rest": timed(
                stack.web.request,
                "GET",
                "/api/v1/users/",
                headers={"Authorization": f"Bearer {stack.key}"},
            ),
            "console": timed(
                stack.web.request, "GET", "/admin/", headers={"Cookie": f"sessionid={session}"}
            ),
            "healthz": healthz(stack),
        }
    finally:
        stack.postgres.resume()
    for name, (response, took) in answers.items():
        limit = HEALTHZ_SECONDS if name == "healthz" else POSTGRES_FAULT_SECONDS
        assert response.status == 503, (name, response.status, response.text[:300])
        assert took < limit, f"{name} took {took:.1f}s"
        if name != "healthz":
            assert response.headers["Retry-After"] == "30"
    post, get = answers["post"][0], answers["get"][0]
    assert json.loads(post.body)["schemas"] == [SCIM_ERROR]
    assert json.loads(get.body)["status"] == "503"
    assert json.loads(answers["rest"][0].body)["error"]["code"] == "unavailable"
    assert "Service unavailable" in answers["console"][0].text
    # Served again once it resumes; the create answered 503 left nothing behind.
    deadline = time.monotonic() + 15
    while stack.scim("GET", "Users?count=1").status != 200:
        assert time.monotonic() < deadline, "not served again after PostgreSQL resumed"
        time.sleep(0.2)
    assert stack.users_named("pg-frozen@acme.example") == 0
    assert_every_door_serves(stack, "after-pg-frozen", REDIS_FAULT_SECONDS)
    assert "Internal Server Error" not in stack.web.log()
