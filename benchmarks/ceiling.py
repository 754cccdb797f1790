"""The benchmark's ceiling: a bare Django view on the same gunicorn and database as SCIM, doing
the least a SCIM server must do per request (one indexed lookup, one INSERT, one UPDATE, one page
of rows) — no authentication, validation, audit or rendering. `make bench` compares SCIM with it.

Mounted only by the benchmark's URLs (benchmarks/urls.py), which only `make bench` loads: never
reachable in production. Its table is created by the benchmark (benchmarks/run.py), not a
migration, so nothing of it exists in a real database.
"""

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_ceiling"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, name text NOT NULL, "
    "active boolean NOT NULL DEFAULT true, body jsonb NOT NULL);"
    f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_lower_name ON {TABLE} (lower(name));"
)


def _row(row: tuple) -> dict:
    return {"id": str(row[0]), "userName": row[1], "active": row[2]}


@csrf_exempt
def users(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        if request.method == "POST":
            body = json.loads(request.body)
            cursor.execute(
                f"INSERT INTO {TABLE} (name, body) VALUES (%s, %s) RETURNING id, name, active",  # noqa: S608
                [body["userName"], json.dumps(body)],
            )
            return JsonResponse(_row(cursor.fetchone()), status=201)
        name = request.GET.get("userName")
        if name is not None:
            cursor.execute(
                f"SELECT id, name, active FROM {TABLE} WHERE lower(name) = lower(%s)",  # noqa: S608
                [name],
            )
        else:
            offset = max(int(request.GET.get("startIndex", "1")) - 1, 0)
            cursor.execute(
                f"SELECT id, name, active FROM {TABLE} ORDER BY id LIMIT 100 OFFSET %s",  # noqa: S608
                [offset],
            )
        rows = [_row(row) for row in cursor.fetchall()]
    return JsonResponse({"totalResults": len(rows), "Resources": rows})


@csrf_exempt
def user(request: HttpRequest, pk: int) -> HttpResponse:
    with connection.cursor() as cursor:
        if request.method == "PATCH":
            body = json.loads(request.body)
            cursor.execute(
                f"UPDATE {TABLE} SET name = coalesce(%s, name), active = coalesce(%s, active) "  # noqa: S608
                "WHERE id = %s RETURNING id, name, active",
                [body.get("userName"), body.get("active"), pk],
            )
        else:
            cursor.execute(f"SELECT id, name, active FROM {TABLE} WHERE id = %s", [pk])  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"detail": "not found"}, status=404)
    return JsonResponse(_row(row))
