"""A real DNS server on 127.0.0.1 for the domain-verification tests (dnslib), in a process of its
own that the `dns_zone` fixture starts and stops by pid.

    def test_something(dns_zone):
        dns_zone.publish("_switchboard.acme.example", "switchboard-verification=abc")
        dns_zone.servfail("_switchboard.broken.example")

The server reads its zone (a JSON file the fixture writes) on every query, so a test changes
what DNS answers between two look-ups. Names not in the zone are NXDOMAIN; a name published
with no TXT values answers NOERROR with no records; "servfail" names answer SERVFAIL; "silent"
names get no answer at all (the resolver times out).

    python tests/dns_server.py ZONE_FILE PORT
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

STARTUP_LIMIT_SECONDS = 20  # a guard against a hung start, not a measurement


class Zone:
    """What the test's DNS server answers: written to the file the server reads per query."""

    def __init__(self, path: Path, port: int) -> None:
        self.path = path
        self.port = port
        self.names: dict[str, dict[str, Any]] = {}
        self.write()

    def write(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.names))
        temporary.replace(self.path)  # the server never reads half a file

    def publish(self, name: str, *values: str | list[str]) -> None:
        """TXT records at `name`; a list is one record of several strings."""
        entry = self.names.setdefault(name.lower(), {"txt": []})
        entry["txt"] = [*entry.get("txt", []), *values]
        entry.pop("fail", None)
        self.write()

    def remove(self, name: str) -> None:
        self.names.pop(name.lower(), None)
        self.write()

    def servfail(self, name: str) -> None:
        self.names[name.lower()] = {"fail": "servfail"}
        self.write()

    def silent(self, name: str) -> None:
        self.names[name.lower()] = {"fail": "silent"}
        self.write()

    def clear(self) -> None:
        self.names = {}
        self.write()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    import dns.message
    import dns.query

    try:
        dns.query.udp(dns.message.make_query("ready.test.", "TXT"), "127.0.0.1", 0.5, port=port)
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def dns_server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    folder = tmp_path_factory.mktemp("dns")
    zone = Zone(folder / "zone.json", _free_udp_port())
    log = folder / "server.log"
    process = subprocess.Popen(  # noqa: S603 — our own script, fixed arguments
        [sys.executable, __file__, str(zone.path), str(zone.port)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while not _answers(zone.port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The test DNS server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield zone
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


@pytest.fixture
def dns_zone(dns_server_process: Zone, settings: Any) -> Iterator[Zone]:
    """The test DNS server, empty, and the domain checks pointed at it (1-second look-ups)."""
    settings.DOMAIN_DNS_NAMESERVERS = ["127.0.0.1"]
    settings.DOMAIN_DNS_PORT = dns_server_process.port
    settings.DOMAIN_DNS_TIMEOUT = 1.0
    dns_server_process.clear()
    yield dns_server_process
    dns_server_process.clear()


def serve(zone_path: str, port: int) -> None:
    from dnslib import QTYPE, RCODE, RR, TXT, DNSError
    from dnslib.server import BaseResolver, DNSServer

    class ZoneResolver(BaseResolver):
        def resolve(self, request: Any, handler: Any) -> Any:
            reply = request.reply()
            name = str(request.q.qname).rstrip(".").lower()
            if name == "ready.test":
                return reply
            try:
                names = json.loads(Path(zone_path).read_text())
            except (OSError, ValueError):
                names = {}
            entry = names.get(name)
            if entry is None:
                reply.header.rcode = RCODE.NXDOMAIN
            elif entry.get("fail") == "servfail":
                reply.header.rcode = RCODE.SERVFAIL
            elif entry.get("fail") == "silent":
                raise DNSError("silent")  # no answer sent: the client times out
            elif request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
                for value in entry.get("txt", []):
                    reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
            return reply

    class QuietLogger:
        def __getattr__(self, name: str) -> Any:
            return lambda *args: None

    server = DNSServer(ZoneResolver(), address="127.0.0.1", port=port, logger=QuietLogger())
    signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
    server.start()  # serves until SIGTERM


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
