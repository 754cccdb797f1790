"""Hostile bodies on every write of the REST API: never a 5xx, and what is not strict JSON is a
400 in the API's error shape that changes nothing.

The writes are read from the URL conf (every route whose view answers a method other than GET,
HEAD or OPTIONS), so a write added later is fuzzed here without anyone remembering to add it; it
needs only a tenant-object maker (tests/tenancy.py) for the model its view lists.
"""

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator

from accounts.models import AuditEvent
from core.strict_json import MAX_DEPTH
from tests.accounts.factories import UserFactory
from tests.tenancy import TENANT_OBJECT_MAKERS

pytestmark = pytest.mark.django_db

READS = {"get", "head", "options"}


def write_routes(patterns=None, namespace=""):
    """(URL name, HTTP method, the view class) of every write route under /api/."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.extend(write_routes(entry.url_patterns, inner))
        elif isinstance(entry, URLPattern) and entry.name:
            view = getattr(entry.callback, "cls", None)
            actions = getattr(entry.callback, "actions", None)
            if view is None or not view.__module__.startswith("api."):
                continue
            methods = actions or {m: m for m in view.http_method_names if hasattr(view, m)}
            found.extend(
                (f"{namespace}{entry.name}", method, view)
                for method in methods
                if method not in READS
            )
    return sorted(set(found), key=lambda route: (route[0], route[1]))


WRITES = write_routes()


def request_fields():
    """Every field name a request body of the API has (from its OpenAPI schema)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    fields = set()
    for item in schema["paths"].values():
        for operation in item.values():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                name = content["schema"].get("$ref", "").rsplit("/", 1)[-1]
                fields |= set(components.get(name, {}).get("properties", {}))
    return sorted(fields)


REQUEST_FIELDS = request_fields()


def target_for(view, company):
    """One object of the model the view serves, in `company`."""
    instance = view()
    instance.swagger_fake_view = True  # an empty queryset without a request: only its model
    model = instance.get_queryset().model
    return TENANT_OBJECT_MAKERS[model](company)


def url_for(name, view, company):
    try:
        return reverse(name)
    except NoReverseMatch:  # a detail route: it takes the object's id
        lookup = view.lookup_url_kwarg or view.lookup_field
        return reverse(name, kwargs={lookup: target_for(view, company).pk})


def nested(depth, inner="1"):
    return "[" * depth + inner + "]" * depth


# Not strict JSON, or JSON that no request could hold: a 400 that changes nothing, everywhere.
REFUSED = {
    "nested arrays": nested(1000),
    "nested objects": '{"a":' * 1000 + "1" + "}" * 1000,
    "nested just past the limit": nested(MAX_DEPTH + 1),
    "NaN": '{"office": NaN}',
    "Infinity": '{"license_type": Infinity}',
    "-Infinity": '{"comment": -Infinity}',
    "a number past a double": '{"office": 1e400}',
    "NUL in a value": '{"comment": "a\\u0000b", "office": "\\u0000"}',
    "NUL in a key": '{"\\u0000": 1}',
    "lone surrogate": '{"comment": "\\ud800"}',
    "truncated": '{"office": 1',
    "trailing garbage": '{"office": 1} x',
    "single quotes": "{'office': 1}",
    "invalid UTF-8": b'{"comment": "\xff\xfe"}',
}

HOSTILE_VALUES = [
    nested(MAX_DEPTH - 2),
    {"a": {"b": {"c": [1, 2, {"d": None}]}}},
    [],
    {},
    True,
    None,
    "",
    " ",
    "x" * 100_000,
    "'; DROP TABLE users; --",
    "\u202e\ufeff",
    -1,
    0,
    1.5,
    2**31,
    2**63 - 1,
    2**63,
    2**64 - 1,
    -(2**63) - 1,
    10**30,
    1e308,
    -1e-308,
]


def post(client, method, url, raw, content_type="application/json"):
    return client.generic(method.upper(), url, raw, content_type=content_type)


def assert_error_shape(response):
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["message"]


def test_the_url_conf_has_the_writes_and_fields_we_know():
    assert {"office", "license_type", "number", "area_code", "comment"} <= set(REQUEST_FIELDS)
    names = {name for name, _, _ in WRITES}
    assert {
        "api:user-suspend",
        "api:user-reactivate",
        "api:user-move-to-office",
        "api:user-change-license",
        "api:user-assign-number",
        "api:pending-change-approve",
        "api:pending-change-reject",
    } <= names


@pytest.mark.parametrize(("name", "method", "view"), WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize("case", list(REFUSED))
def test_a_body_that_is_not_strict_json_is_a_400_that_changes_nothing(
    api, company, name, method, view, case
):
    url = url_for(name, view, company)
    events = AuditEvent.objects.count()
    raw = REFUSED[case]
    response = post(api, method, url, raw if isinstance(raw, bytes) else raw.encode())
    assert response.status_code == 400, (case, response.content[:300])
    assert_error_shape(response)
    assert response.json()["error"]["code"] in {"parse_error", "invalid"}
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("name", "method", "view"), WRITES, ids=[w[0] for w in WRITES])
def test_hostile_values_in_every_field_never_answer_a_5xx(api, company, name, method, view):
    import json

    fields = [*REQUEST_FIELDS, "unknown"]
    bodies = [json.dumps({field: value}) for field in fields for value in HOSTILE_VALUES]
    bodies += [json.dumps(value) for value in HOSTILE_VALUES]  # not an object at all
    bodies += ["", "null", "[]", '"text"', "1"]
    failures = []
    for raw in bodies:
        url = url_for(name, view, company)
        response = post(api, method, url, raw.encode())
        if response.status_code >= 500:
            failures.append((raw[:120], response.status_code))
        elif response.status_code >= 400:
            assert_error_shape(response)
    assert failures == []


@pytest.mark.parametrize(("name", "method", "view"), WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/x-www-form-urlencoded", b"office=1"),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--"),
        ("text/plain", b"hello"),
        ("application/xml", b"<office>1</office>"),
        ("", b"{}"),
    ],
)
def test_a_body_that_is_not_json_is_refused_in_the_error_shape(
    api, company, name, method, view, content_type, raw
):
    url = url_for(name, view, company)
    events = AuditEvent.objects.count()
    response = post(api, method, url, raw, content_type=content_type)
    assert response.status_code == 415, response.content[:300]
    assert_error_shape(response)
    assert AuditEvent.objects.count() == events


def test_a_body_past_a_megabyte_is_a_413_that_changes_nothing(api, company):
    user = UserFactory(company=company)
    url = reverse("api:user-change-license", kwargs={"pk": user.pk})
    events = AuditEvent.objects.count()
    raw = b'{"license_type": "' + b"x" * (1024 * 1024) + b'"}'
    response = post(api, "post", url, raw)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert AuditEvent.objects.count() == events
