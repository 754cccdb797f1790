"""The production topology for real: gunicorn processes (config/gunicorn.conf.py), a Celery
worker, PostgreSQL and Redis. Nothing one process needs may live in another's memory."""

import json
import re
import subprocess
import time
from urllib.parse import urlencode

import pytest
from celery import Celery
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from core.request_context import current_request_id
from tests.accounts.factories import CompanyAdminFactory
from tests.processes import BASE_DIR, BIN, base_env, free_port, http_request

pytestmark = [pytest.mark.slow]


def _sign_in(web, email: str, password: str) -> str:
    """The sign-in form (/login/, which Admin Settings also uses), as a browser posts it;
    returns the session cookie."""
    form = web.request("GET", "/login/")
    csrf_cookie = form.cookies()["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    answer = web.request(
        "POST",
        "/login/",
        headers={
            "Cookie": f"csrftoken={csrf_cookie}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        data=urlencode(
            {
                "step": "password",
                "email": email,
                "password": password,
                "next": "/admin/",
                "csrfmiddlewaretoken": token.group(1),
            }
        ).encode(),
    )
    assert answer.status == 302, answer.text[:500]
    return answer.cookies()["sessionid"]


def test_a_session_made_on_one_process_is_valid_on_another(web_processes, company):
    admin = CompanyAdminFactory(company=company, email="ops-admin@acme.example")
    admin.set_password("correct horse battery")
    admin.save()
    first, second = web_processes(2)

    session = _sign_in(first, "ops-admin@acme.example", "correct horse battery")

    signed_in = second.request("GET", "/admin/", headers={"Cookie": f"sessionid={session}"})
    assert signed_in.status == 200
    assert "Admin Settings" in signed_in.text
    anonymous = second.request("GET", "/admin/")
    assert anonymous.status == 302


def test_a_cached_value_is_shared_between_processes(db):
    from django.core.cache import cache

    cache.set("ops:shared-probe", "written-here", 60)
    script = (
        "from django.core.cache import cache; "
        "print(cache.get('ops:shared-probe')); cache.set('ops:answer', 'written-there', 60)"
    )
    done = subprocess.run(  # noqa: S603 — our own manage.py
        [str(BIN / "python"), "manage.py", "shell", "--no-imports", "-c", script],
        cwd=BASE_DIR,
        env=base_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "written-here"
    assert cache.get("ops:answer") == "written-there"


def test_metrics_add_up_every_worker_and_logs_are_json(web_processes):
    [web] = web_processes(1, workers=2, LOG_FORMAT="json", LOG_REQUESTS="true")
    request_ids = [web.request("GET", "/login/").headers["X-Request-ID"] for _ in range(12)]
    scrape = web.request("GET", "/metrics")
    assert scrape.status == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
    }
    key = (
        "switchboard_http_requests_total",
        (("method", "GET"), ("route", "/login/"), ("status", "200")),
    )
    assert samples[key] == 12  # whichever worker served each one, and whichever scraped

    lines = [json.loads(line) for line in web.log().splitlines() if line.startswith("{")]
    logged = {line["request_id"]: line for line in lines if line["logger"] == "switchboard.request"}
    entry = logged[request_ids[0]]
    assert entry["method"] == "GET"
    assert entry["path"] == "/login/"
    assert entry["status"] == 200
    assert entry["client_ip"] == "127.0.0.1"
    assert entry["duration_ms"] >= 0
    assert {"timestamp", "level", "message"} <= entry.keys()
    assert set(request_ids) <= logged.keys()


def test_static_files_are_served_by_gunicorn_with_debug_off(web_processes, tmp_path):
    production = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "STATIC_ROOT": str(tmp_path / "static"),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    subprocess.run(  # noqa: S603 — our own manage.py
        [str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=base_env(**production),
        check=True,
    )
    [web] = web_processes(1, **production)
    login = web.request("GET", "/login/")
    assert login.status == 200
    # The manifest storage names files by content hash, so they can be cached for ever.
    stylesheet = re.search(r'href="(/static/sso/sso\.[0-9a-f]{12}\.css)"', login.text)
    assert stylesheet, login.text[:1000]
    css = web.request("GET", stylesheet.group(1), headers={"Accept-Encoding": "gzip"})
    assert css.status == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Content-Encoding"] == "gzip"
    assert "immutable" in css.headers["Cache-Control"]


def test_database_unreachable_is_503_and_health_red(web_processes):
    dead = f"postgres://postgres@127.0.0.1:{free_port()}/switchboard"
    [web] = web_processes(1, DATABASE_URL=dead)
    health = web.request("GET", "/healthz")
    assert health.status == 503
    assert json.loads(health.body)["checks"]["database"]["status"] == "unavailable"
    # A signed-in admin's page needs the session from the database.
    page = web.request("GET", "/admin/", headers={"Cookie": "sessionid=" + "k" * 32})
    assert page.status == 503
    assert page.headers["Retry-After"] == "30"


def test_a_real_worker_runs_a_task_from_the_broker(tmp_path):
    broker = settings.REDIS_URL
    metrics_port = free_port()
    log_path = tmp_path / "worker.log"
    env = base_env(
        DJANGO_SETTINGS_MODULE="config.test_settings",
        CELERY_BROKER_URL=broker,
        WORKER_METRICS_PORT=str(metrics_port),
        LOG_FORMAT="json",
    )
    with log_path.open("wb") as log:
        worker = subprocess.Popen(  # noqa: S603 — our own celery
            [
                str(BIN / "celery"),
                "--app",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    client = Celery(broker=broker, backend=broker)
    token = current_request_id.set("ops-req-4242abcd")
    try:
        result = client.send_task("switchboard.ping")
    finally:
        current_request_id.reset(token)
    try:
        answer = result.get(timeout=60)
        # The request id travelled with the task: its logs and audit events carry it.
        assert answer == {"pong": "ok", "request_id": "ops-req-4242abcd"}
        scraped = ""
        deadline = time.monotonic() + 30  # the counter is written just after the result
        while time.monotonic() < deadline and 'state="SUCCESS"' not in scraped:
            scraped = http_request(f"http://127.0.0.1:{metrics_port}/metrics").text
            time.sleep(0.1)
        assert 'switchboard_tasks_total{state="SUCCESS",task="switchboard.ping"} 1.0' in scraped
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        client.close()


def test_the_redis_cache_keeps_one_client_per_connection_pool(db):
    from django.core.cache import caches

    from core.cache import RedisCache

    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    client = cache._cache.get_client("any")
    assert cache._cache.get_client("other", write=True) is client  # not one per call
    cache.set("ops:client-probe", 42, 60)
    assert cache.get("ops:client-probe") == 42
    assert cache.incr("ops:client-probe") == 43
