"""Metrics an operator scrapes (Prometheus text format), with prometheus_client.

Other apps record through the named objects here, e.g.::

    from core.metrics import record_scim_request, record_saml_login
    record_scim_request(operation="users.create", status=201, seconds=elapsed)
    record_saml_login(outcome="success")

and register scrape-time values with `PENDING_APPROVALS.set_source(count_pending)`.

Under gunicorn each worker is its own process: prometheus_client's multiprocess mode (the
`PROMETHEUS_MULTIPROC_DIR` directory, which config/gunicorn.conf.py creates and empties at start)
adds every worker's values up at scrape time. Gauges that describe the database (pending
approvals) are read from the database when scraped, never kept in a process.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Callable, Iterator
from typing import Any

from celery.signals import task_failure, task_postrun
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "switchboard_http_requests",
    "HTTP requests answered, by URL route, method and status.",
    ["route", "method", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "switchboard_http_request_seconds",
    "Time to answer an HTTP request, by URL route, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
SCIM_REQUESTS = Counter(
    "switchboard_scim_requests",
    "SCIM requests by operation (users.create, users.patch, users.list …) and status.",
    ["operation", "status"],
)
SCIM_REQUEST_SECONDS = Histogram(
    "switchboard_scim_request_seconds",
    "Time to answer a SCIM request, by operation.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
SAML_LOGINS = Counter(
    "switchboard_saml_logins",
    "SAML sign-ins at the ACS by outcome (success, invalid_signature, replayed, …).",
    ["outcome"],
)
TASK_FAILURES = Counter(
    "switchboard_task_failures",
    "Celery tasks that raised, by task name (each failed attempt counts).",
    ["task"],
)
TASKS = Counter(
    "switchboard_tasks",
    "Celery tasks run, by task name and final state (SUCCESS, FAILURE, RETRY).",
    ["task", "state"],
)


def record_scim_request(*, operation: str, status: int, seconds: float) -> None:
    SCIM_REQUESTS.labels(operation=operation, status=str(status)).inc()
    SCIM_REQUEST_SECONDS.labels(operation=operation).observe(seconds)


def record_saml_login(*, outcome: str) -> None:
    SAML_LOGINS.labels(outcome=outcome).inc()


def record_http_request(*, route: str, method: str, status: int, seconds: float) -> None:
    labels = {"route": route, "method": method, "status": str(status)}
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_REQUEST_SECONDS.labels(**labels).observe(seconds)


class ScrapeTimeGauge(Collector):
    """A gauge whose value is computed when scraped (from the database), so every web process
    reports the same truth and no process has to keep it up to date. The owning app registers
    the function that computes it, e.g. in its AppConfig.ready()."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self._source: Callable[[], float] | None = None

    def set_source(self, source: Callable[[], float] | None) -> None:
        self._source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self._source is None:
            return  # nothing registered it yet: absent, not a misleading 0
        try:
            value = float(self._source())
        except DatabaseError:
            return  # the database is down: /healthz says so; an absent value is honest
        yield GaugeMetricFamily(self.name, self.documentation, value=value)


PENDING_APPROVALS = ScrapeTimeGauge(
    "switchboard_pending_approvals",
    "Changes waiting for an approver (read from the database at scrape time).",
)
SCRAPE_TIME_GAUGES: list[ScrapeTimeGauge] = [PENDING_APPROVALS]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def clear_multiprocess_dir(path: str) -> None:
    """Empty the directory at start: values left by a previous run would be added to ours."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def render_latest() -> bytes:
    """Every metric: this process's, or all processes' in multiprocess mode, plus the
    scrape-time gauges."""
    directory = multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    for gauge in SCRAPE_TIME_GAUGES:
        scraped.register(gauge)
    return output + generate_latest(scraped)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`/metrics` for an operator's scraper. With METRICS_TOKEN set it needs
    `Authorization: Bearer <token>`; without, only a direct loopback client (no proxy hop)."""
    denied = _refuse_scrape(request)
    if denied is not None:
        return denied
    response = HttpResponse(render_latest(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def _refuse_scrape(request: HttpRequest) -> HttpResponse | None:
    token = getattr(settings, "METRICS_TOKEN", None)
    if token:
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(offered.strip(), token):
            return None
        response = HttpResponse("Metrics need the METRICS_TOKEN bearer token.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if _is_loopback(request.META.get("REMOTE_ADDR", "")) and not request.headers.get(
        "X-Forwarded-For"
    ):
        return None
    return HttpResponse(
        "Metrics are served to loopback clients only; set METRICS_TOKEN to scrape remotely.\n",
        status=403,
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@task_failure.connect
def _count_task_failure(sender: Any = None, **kwargs: Any) -> None:
    TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()


@task_postrun.connect
def _count_task(sender: Any = None, state: str | None = None, **kwargs: Any) -> None:
    TASKS.labels(task=getattr(sender, "name", "unknown"), state=state or "UNKNOWN").inc()
