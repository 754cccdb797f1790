"""Real server processes for tests that need more than one process: gunicorn with the production
config file (config/gunicorn.conf.py) on free ports, against the test database and Redis.

    def test_something(web_processes):
        first, second = web_processes(2)
        response = first.request("GET", "/healthz")

The fixture needs committed data, so it brings `transactional_db`: rows a test creates are
visible to the servers (and flushed afterwards).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STARTUP_LIMIT_SECONDS = 60  # a guard against a hung start, not a measurement


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shared_database_url() -> str:
    """The test run's database (test_…), which the servers must share with the test."""
    from django.db import connection

    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def base_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": shared_database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(overrides)
    return env


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def cookies(self) -> dict[str, str]:
        jar = {}
        for header in self.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
        return jar


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def http_request(
    url: str,
    method: str = "GET",
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> Response:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 — http://127.0.0.1 only
    try:
        with _opener.open(request, timeout=30) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())


@dataclass
class WebProcess:
    """One gunicorn (master + workers) on its own port."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
    ) -> Response:
        return http_request(self.url + path, method, headers=headers, data=data)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_web(tmp_path: Path, name: str, *, workers: int = 1, **env: str) -> WebProcess:
    port = free_port()
    metrics_dir = tmp_path / f"{name}-metrics"
    metrics_dir.mkdir()
    full_env = base_env(
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        **env,
    )
    log_path = tmp_path / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 — our own gunicorn
            [str(BIN / "gunicorn"), "--config", "config/gunicorn.conf.py"],
            cwd=BASE_DIR,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    web = WebProcess(f"http://127.0.0.1:{port}", process, log_path, full_env)
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn {name} exited at start:\n{web.log()}")
        try:
            web.request("GET", "/healthz")  # 200 or 503: either way it answers
        except OSError:
            time.sleep(0.2)
            continue
        return web
    web.stop()
    raise RuntimeError(f"gunicorn {name} did not answer in {STARTUP_LIMIT_SECONDS}s:\n{web.log()}")


@pytest.fixture
def web_processes(transactional_db, tmp_path):
    """`web_processes(count, workers=1, **env)` → that many gunicorns; all stopped afterwards."""
    started: list[WebProcess] = []

    def start(count: int = 1, *, workers: int = 1, **env: str) -> list[WebProcess]:
        for _ in range(count):
            started.append(start_web(tmp_path, f"web{len(started)}", workers=workers, **env))
        return started[-count:]

    yield start
    for web in started:
        web.stop()


# --- Celery workers and a Redis of the test's own ---


def start_worker(broker: str, log_path: Path, *, concurrency: int = 2) -> subprocess.Popen[bytes]:
    """A real `celery worker` (prefork) on `broker`, in its own process group (see kill_group)."""
    env = base_env(CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=broker)
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - our own celery binary, fixed arguments
            [
                str(BIN / "celery"),
                "--app",
                "config",
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=BASE_DIR,
            env=env,
            start_new_session=True,  # its own process group: SIGKILL takes the pool children too
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process started with start_new_session, and its children."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class RedisServer:
    """A redis-server of the test's own on a fixed free port, to stop and start again: a broker
    outage. No persistence: what was queued in it is gone after a stop, as after a crash."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs redis-server (make install-test-packages)")
        self.process = subprocess.Popen(  # noqa: S603 - the system's redis-server, fixed arguments
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing answers (a hung host, not a crash)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def forget_broker_connections() -> None:
    """Drop the Celery app's cached connection and producer pools (eager runs create them for
    the default broker): the next publish connects to the broker now configured."""
    from config.celery import app

    celery: Any = app
    if celery._pool is not None:
        celery._pool.force_close_all()
    celery._pool = None
    celery.amqp._producer_pool = None


@contextmanager
def publishing_to(broker: str) -> Iterator[None]:
    """This process enqueues tasks on `broker` (not in-process, as every other test does)."""
    from django.conf import settings
    from kombu import pools

    from config.celery import app

    # The app reads Django settings under the CELERY_ namespace: override those keys.
    overrides = {
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": False,
        "CELERY_RESULT_BACKEND": None,
        "CELERY_TASK_IGNORE_RESULT": True,
    }
    app.conf.update(overrides)
    forget_broker_connections()
    assert not app.conf.task_always_eager
    try:
        yield
    finally:
        # Back to what the settings say, with fresh kombu pools: force_close_all() leaves the
        # process-wide pools closed for later publishers.
        app.conf.update({key: getattr(settings, key, None) for key in overrides})
        forget_broker_connections()
        pools.reset()
        assert app.conf.task_always_eager


def _run_as_postgres(*command: str) -> None:
    # initdb refuses to run as root: as root, the postgres user owns the throwaway cluster.
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True)  # noqa: S603 — the system's PostgreSQL binaries


def _running(pid: int | None) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class PostgresServer:
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory, a free port), to
    freeze and resume by pid: never the machine's shared server. Durability off, as in
    scripts/with-services for tests."""

    def __init__(self) -> None:
        import tempfile

        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            pytest.skip("needs PostgreSQL's server binaries (make install-test-packages)")
        self.bin = bins[-1].parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="switchboard-pg-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/switchboard"
        self.pid: int | None = None

    def start(self) -> None:
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        _run_as_postgres(
            *(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"),
            *("--auth=trust", "-E", "UTF8", "--no-sync"),
        )
        self.run()
        _run_as_postgres(
            *(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)),
            *("-U", "postgres", "switchboard"),
        )

    def run(self) -> None:
        """Start the cluster's server (again, after `kill`) and wait until it accepts."""
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _run_as_postgres(
            *(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log")),
            *("-w", "-t", "30", "start", "-o", options),
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """SIGKILL the server and every process it started: a crash, connections refused."""
        for pid in self.pids():
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while _running(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Dead, though perhaps a zombie nobody reaps yet: PostgreSQL would take its lock files
        # for a live server's, so they go as after a reboot.
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        (self.dir / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)
        self.pid = None

    def pids(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer …)."""
        assert self.pid is not None
        found = [self.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:
                found.append(int(stat.parent.name))
        return found

    def freeze(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.pid is not None:
            self.resume()
            os.kill(self.pid, signal.SIGINT)  # PostgreSQL's fast shutdown
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)
