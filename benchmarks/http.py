"""A small load client: N threads, each with its own keep-alive `http.client` connection
(reopened when gunicorn's sync workers close it), timing every request."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


class BenchError(RuntimeError):
    pass


@dataclass
class Timings:
    """Seconds per request, by operation name; `wall` is the elapsed time of the whole run."""

    by_op: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    wall: float = 0.0
    units: int = 0  # what the run counts (users synced, logins …)

    def per_second(self) -> float:
        return self.units / self.wall if self.wall else 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Connection:
    def __init__(self, port: int, headers: dict[str, str], timings: Timings, lock: threading.Lock):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = headers
        self.timings = timings
        self.lock = lock

    def call(
        self,
        op: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: Iterable[int] = (200,),
        content_type: str = "application/scim+json",
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        headers = dict(self.headers)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            start = time.perf_counter()
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The worker closed an idle keep-alive connection: reconnect once.
                self.connection.close()
                if attempt:
                    raise
                continue
            elapsed = time.perf_counter() - start
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
            break
        if response.status not in expect:
            raise BenchError(f"{op}: {method} {path} → {response.status}: {payload[:300]!r}")
        with self.lock:
            self.timings.by_op[op].append(elapsed)
        content = response.getheader("Content-Type") or ""
        return response.status, json.loads(payload) if payload and "json" in content else None


def run_concurrently(
    port: int,
    headers: dict[str, str],
    items: list[Any],
    work: Callable[[Connection, Any], None],
    *,
    concurrency: int,
) -> Timings:
    """`work(connection, item)` for every item, spread over `concurrency` threads."""
    timings = Timings(units=len(items))
    lock = threading.Lock()
    errors: list[BaseException] = []
    chunks = [items[i::concurrency] for i in range(concurrency)]

    def worker(chunk: list[Any]) -> None:
        connection = Connection(port, headers, timings, lock)
        try:
            for item in chunk:
                if errors:
                    return
                work(connection, item)
        except BaseException as error:  # reported by the caller
            errors.append(error)
        finally:
            connection.connection.close()

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks if chunk]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return timings
