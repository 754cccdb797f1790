import importlib
import io
import json
import logging

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse

from accounts.models import AuditEvent
from core.log import logging_config
from core.request_context import RequestIdLogFilter, client_ip, current_request_id

pytestmark = pytest.mark.django_db


def _json_logger() -> tuple[logging.Logger, io.StringIO]:
    """A logger writing through the production JSON formatter and request-id filter, built from
    logging_config() without reconfiguring the test run's own logging."""
    config = logging_config(log_format="json")
    spec = dict(config["formatters"]["default"])
    module, _, name = spec.pop("()").rpartition(".")
    formatter = getattr(importlib.import_module(module), name)(**spec)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdLogFilter())
    logger = logging.getLogger("ops-test")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_json_lines_carry_the_request_id_and_extras():
    logger, stream = _json_logger()
    token = current_request_id.set("req-abc-123")
    try:
        logger.info("user %s suspended", "ada", extra={"company": "acme"})
    finally:
        current_request_id.reset(token)
    logger.warning("outside a request")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "user ada suspended"
    assert first["level"] == "INFO"
    assert first["logger"] == "ops-test"
    assert first["request_id"] == "req-abc-123"
    assert first["company"] == "acme"
    assert first["timestamp"].endswith("+00:00")  # ISO 8601, UTC
    assert second["request_id"] == "-"
    assert second["level"] == "WARNING"


def test_plain_text_is_the_default():
    assert "format" in logging_config()["formatters"]["default"]


def test_each_request_logs_one_line_with_its_facts(client, caplog):
    caplog.handler.addFilter(RequestIdLogFilter())  # as on the real handlers
    with caplog.at_level(logging.INFO, logger="switchboard.request"):
        response = client.get("/login/", HTTP_X_REQUEST_ID="probe-req-0001")
    [record] = [r for r in caplog.records if r.name == "switchboard.request"]
    assert response["X-Request-ID"] == "probe-req-0001"
    assert record.request_id == "probe-req-0001"
    assert (record.method, record.path, record.route, record.status) == (
        "GET",
        "/login/",
        "/login/",
        200,
    )
    assert record.duration_ms >= 0
    assert record.client_ip == "127.0.0.1"


def test_health_probes_are_not_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="switchboard.request"):
        client.get("/healthz")
    assert not [r for r in caplog.records if r.name == "switchboard.request"]


def test_request_id_of_a_request_is_on_the_audit_event_it_wrote(company_admin_client, company):
    response = company_admin_client.post(
        reverse("admin:accounts_companydomain_add"), {"domain": "acme-labs.example"}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="company.domain_added", company=company)
    assert event.request_id
    assert event.request_id == response["X-Request-ID"]


def test_the_client_address_behind_our_proxy_is_on_the_audit_event(company_admin_client, company):
    company_admin_client.post(
        reverse("admin:accounts_companydomain_add"),
        {"domain": "acme-three.example"},
        REMOTE_ADDR="127.0.0.1",  # our proxy (FORWARDED_ALLOW_IPS)
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4",
    )
    event = AuditEvent.objects.get(action="company.domain_added", company=company)
    assert event.client_ip == "198.51.100.4"  # the hop our proxy appended, not what was claimed


def test_a_clients_own_request_id_is_kept_when_plain(company_admin_client, company):
    response = company_admin_client.post(
        reverse("admin:accounts_companydomain_add"),
        {"domain": "acme-two.example"},
        HTTP_X_REQUEST_ID="lb-7f3a9c2e11",
    )
    assert response["X-Request-ID"] == "lb-7f3a9c2e11"
    assert AuditEvent.objects.get(action="company.domain_added").request_id == "lb-7f3a9c2e11"


@override_settings(FORWARDED_ALLOW_IPS=["127.0.0.1", "10.0.0.0/8"])
def test_client_ip_believes_only_trusted_proxies():
    factory = RequestFactory()
    direct = factory.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert client_ip(direct) == "203.0.113.9"  # not a proxy of ours: its header is ignored
    proxied = factory.get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4, 10.1.2.3"
    )
    # 10.1.2.3 is our balancer; 198.51.100.4 is who connected to it; 6.6.6.6 is a client's claim.
    assert client_ip(proxied) == "198.51.100.4"
    assert client_ip(factory.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"


def test_make_run_prints_each_line_once_and_no_schema_noise(tmp_path):
    """As under `make run` (DEBUG on, plain text): Django's own console handler would print
    every django.* warning a second time; xmlschema would announce each schema it loads."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    script = (
        "import logging, django; django.setup();"
        "logging.getLogger('django.request').warning('Not Found: /nope');"
        "logging.getLogger('xmlschema').info(\"Resource 'XMLSchema.xsd' is already loaded\");"
        "import sso.saml"  # pysaml2's schemas load here
    )
    env = {
        **os.environ,
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_FORMAT": "plain",
    }
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    output = result.stdout + result.stderr
    assert output.count("Not Found: /nope") == 1, output
    assert "already loaded" not in output
