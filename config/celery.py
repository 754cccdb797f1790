import logging
import os
import tempfile
from typing import Any

from celery import Celery, bootsteps
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A worker serving its metrics (WORKER_METRICS_PORT) adds up its pool processes' values through
# prometheus_client's multiprocess directory, which must be known before prometheus_client is
# first imported (by core.metrics below).
if os.environ.get("WORKER_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="switchboard-worker-metrics-")

from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core import database, metrics
from core.request_context import current_request_id

logger = logging.getLogger("switchboard.celery")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Errors worth retrying — the database or Redis was briefly away — and how. A task opts in:
#     @shared_task(**TRANSIENT_RETRY)
# Anything else (a DomainError, a bug) fails at once: retrying would not change the answer.
BROKER_ERRORS = (BrokerError, RedisConnectionError, RedisTimeoutError)
TRANSIENT_ERRORS = (OperationalError, InterfaceError, *BROKER_ERRORS)
TRANSIENT_RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,  # 2 s, 4 s, 8 s … with jitter, capped below
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


def send_once(task: Any, *args: Any) -> None:
    """Enqueue `task(*args)` with one connection attempt and no publish retries.

    For callers that must not wait on a broker that is down (an approver's request): raises one
    of BROKER_ERRORS at once instead of retrying for seconds. The task's result is not stored,
    so nothing here subscribes to the result backend (which would retry for much longer). With
    no broker configured (CELERY_TASK_ALWAYS_EAGER) the task runs in-process, as `delay` does.
    """
    if app.conf.task_always_eager:
        task.apply_async(args, ignore_result=True)
        return
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=0)
        task.apply_async(args, producer=producer, retry=False, ignore_result=True)


REQUEST_ID_HEADER = "switchboard_request_id"


@before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """A task enqueued by a request carries its id: the task's logs and AuditEvents show it."""
    request_id = current_request_id.get()
    if headers is not None and request_id:
        headers[REQUEST_ID_HEADER] = request_id


_request_id_tokens: dict[str, Any] = {}


@task_prerun.connect
def _adopt_request_id(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    if request_id and not (task is not None and task.request.is_eager):
        _request_id_tokens[task_id] = current_request_id.set(request_id)


@task_prerun.connect
def _task_timeouts(task: Any = None, **kwargs: Any) -> None:
    """A task's statements run with DB_TASK_STATEMENT_TIMEOUT (core/database.py); an eager
    one keeps its caller's."""
    if task is not None and not task.request.is_eager:
        database.use_timeouts(database.TASK)


@task_postrun.connect
def _drop_request_id(task_id: str = "", **kwargs: Any) -> None:
    token = _request_id_tokens.pop(task_id, None)
    if token is not None:
        current_request_id.reset(token)


class RecoverUnappliedChanges(bootsteps.StartStopStep):
    """Each time a worker's consumer starts — the worker's start, and again after a lost broker
    connection — it sends the task that re-enqueues approved changes left unapplied
    (approvals.tasks.recover_unapplied_changes): after a routine restart they apply within
    seconds instead of waiting for the sweeper."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        try:
            parent.app.send_task("approvals.tasks.recover_unapplied_changes", ignore_result=True)
        except BROKER_ERRORS:  # the broker went again: the next consumer start sends it
            logger.warning("Could not send the recovery of unapplied changes", exc_info=True)


app.steps["consumer"].add(RecoverUnappliedChanges)


@worker_init.connect
def _serve_worker_metrics(**kwargs: Any) -> None:
    port = os.environ.get("WORKER_METRICS_PORT")
    directory = metrics.multiprocess_dir()
    if not port or not directory:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    metrics.clear_multiprocess_dir(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    # Loopback by default, like the web's /metrics without a token.
    start_http_server(
        int(port), addr=os.environ.get("WORKER_METRICS_ADDR", "127.0.0.1"), registry=registry
    )


@app.task(name="switchboard.ping")
def ping() -> dict[str, str]:
    """A worker is alive and reads the broker: `celery -A config call switchboard.ping`."""
    return {"pong": "ok", "request_id": current_request_id.get()}
