"""How much authenticating one API key adds to a request: `manage.py bench_api_key_auth`.

Runs `apikeys.services.authenticate()` for one key against the configured database and cache,
inside a transaction that is rolled back (nothing it creates stays), and prints the median
cost per call of the repeats.
"""

import statistics
import timeit
from typing import Any

from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from accounts import services as accounts_services
from accounts.audit import Source, SystemActor
from apikeys import services


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Measure the cost of authenticating one API key (median of repeats, per call)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, default=2000)
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args: Any, **options: Any) -> None:
        calls, repeat = max(1, options["calls"]), max(1, options["repeat"])
        actor = SystemActor("manage.py bench_api_key_auth")
        try:
            with transaction.atomic():
                company = accounts_services.create_company(
                    name="Benchmark", slug="bench-api-key-auth", actor=actor, source=Source.CLI
                )
                _key, raw_key = services.create_api_key(
                    company=company, name="benchmark", actor=actor, source=Source.CLI
                )
                services.authenticate(raw_key=raw_key, client_ip="192.0.2.10")  # warm up
                runs = timeit.repeat(
                    lambda: services.authenticate(raw_key=raw_key, client_ip="192.0.2.10"),
                    number=calls,
                    repeat=repeat,
                )
                # For scale: what one round trip to each server costs on this machine.
                cursor = connection.cursor()
                database = timeit.repeat(
                    lambda: cursor.execute("SELECT 1"), number=calls, repeat=repeat
                )
                cache = caches["default"]
                cache_get = timeit.repeat(
                    lambda: cache.get("bench-api-key-auth"), number=calls, repeat=repeat
                )
                raise _Rollback
        except _Rollback:
            pass
        per_call = [run / calls * 1e6 for run in runs]
        self.stdout.write(
            f"authenticate(): median {statistics.median(per_call):.0f} µs per call "
            f"({repeat} × {calls} calls; runs: {', '.join(f'{v:.0f}' for v in per_call)} µs)"
        )
        self.stdout.write(
            f"  for scale, on this machine: database round trip (SELECT 1) "
            f"{statistics.median(database) / calls * 1e6:.0f} µs, "
            f"cache GET {statistics.median(cache_get) / calls * 1e6:.0f} µs"
        )
