"""gunicorn for the web process (Procfile: `gunicorn --config config/gunicorn.conf.py`).

Every setting reads the environment, so one file serves a laptop and a 32-core node:

  PORT / HOST            where to listen (default 0.0.0.0:8000)
  WEB_CONCURRENCY        worker processes (default 2 × CPUs + 1)
  GUNICORN_THREADS       threads per worker (default 1: sync workers)
  GUNICORN_TIMEOUT       seconds before a stuck worker is killed and replaced (default 30)
  FORWARDED_ALLOW_IPS    the proxies trusted to say the request came over https
                         (X-Forwarded-Proto) and whose X-Forwarded-For hops the app believes;
                         default 127.0.0.1,::1 (a proxy on the same host). Set it to your load
                         balancer's addresses or subnet, never `*` unless only the balancer can
                         reach gunicorn — anyone else could claim to be https or any client IP.
  GUNICORN_ACCESS_LOG    `true`: also gunicorn's own access log (the app already logs one line
                         per request, with the request id); its format includes the request id.
  PROMETHEUS_MULTIPROC_DIR  where workers keep metric values; emptied at start (default: a new
                         temporary directory).
"""

import gc
import multiprocessing
import os
import tempfile

# Before anything imports prometheus_client (config/__init__ does, through the Celery app).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="switchboard-web-metrics-")

from core.log import logging_config
from core.metrics import clear_multiprocess_dir

wsgi_app = "config.wsgi:application"
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30  # time to finish in-flight requests on SIGTERM (a deploy)
keepalive = 5  # a little above nothing: the load balancer reuses connections
# Recycle workers now and then so a slow leak never becomes an outage; jitter avoids all at once.
max_requests = 2000
max_requests_jitter = 500
# The app is imported once, in the master, and each worker is a fork of it: a recycled worker
# serves again at once. Imported in every worker, a boot took ~14 s of CPU when no bytecode was
# cached (PYTHONDONTWRITEBYTECODE), and evenly loaded workers recycle together: make bench saw
# a minute without an answer. Nothing connects at import (database and Redis connect on first
# use, in the worker), so nothing is shared across the fork.
preload_app = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

_log_format = (os.environ.get("LOG_FORMAT") or "plain").lower()
_log_level = os.environ.get("LOG_LEVEL") or "INFO"
_access_log = (os.environ.get("GUNICORN_ACCESS_LOG") or "").lower() in {"1", "true", "yes", "on"}
accesslog = "-" if _access_log else None
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'
# gunicorn's own lines in the app's format (JSON in production). Django configures the same
# handlers again in each worker and leaves these two loggers as set here.
logconfig_dict = logging_config(log_format=_log_format, level=_log_level)
logconfig_dict["loggers"].update(
    {
        "gunicorn.error": {"handlers": ["console"], "level": _log_level, "propagate": False},
        "gunicorn.access": {
            "handlers": ["console"] if _access_log else [],
            "level": "INFO" if _access_log else "CRITICAL",
            "propagate": False,
        },
    }
)


def on_starting(server):
    # Values a previous run left behind would be added to this run's.
    clear_multiprocess_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def pre_fork(server, worker):
    # The collector writes into every object it tracks: frozen, what the master imported stays
    # shared with the worker instead of being copied into it by its first full collection.
    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
