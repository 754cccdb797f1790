"""Generated payloads and filters: never a 5xx, and a refused request changes nothing."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import AuditEvent, User
from offices.models import Office, PhoneNumber
from tests.provisioning.test_scim_users import CORE, PATCH

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ATTRIBUTES = [
    "userName", "UserName", "emails", "active", "Active", "name", "displayName", "externalId",
    "title", "phoneNumbers", "members", "schemas", "id", "licenseType", "officeName", "areaCode",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:switchboard:2.0:User",
    "emails[type eq \"work\"].value", "name.givenName", "manager", "groups", "meta",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["True", "false", "ann@acme.example", "+14155550100", "talk", "HQ", "415"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(["value", "type", "primary", "givenName", "display"])
            | st.text(max_size=8),
            children,
            max_size=3,
        ),
    ),
    max_leaves=8,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(ATTRIBUTES) | st.text(max_size=10), values, max_size=6),
    values,
)
operations = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "remove", "Add", "Remove", "move", 1])},
        optional={"path": st.sampled_from(ATTRIBUTES) | st.text(max_size=30), "value": values},
    ),
    max_size=4,
)
filters = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda attr, op, value: f"{attr} {op} {value}",
        st.sampled_from(ATTRIBUTES) | st.text(max_size=10),
        st.sampled_from(["eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le", "xx"]),
        st.sampled_from(['"a"', "true", "12", "null", '"2024-01-01T00:00:00Z"', "(", '"\\"'])
        | st.text(max_size=10),
    ),
)


def state():
    """Everything a SCIM write can change."""
    return (
        list(User.objects.order_by("pk").values()),
        list(Office.objects.order_by("pk").values()),
        list(PhoneNumber.objects.order_by("pk").values("pk", "assigned_user_id")),
        # A refusal is recorded (scim.request_refused, for the SCIM Provisioning page); nothing
        # else may be.
        AuditEvent.objects.exclude(action="scim.request_refused").count(),
    )


def send(scim, method, path, body):
    payload = body if isinstance(body, str) else json.dumps(body)
    return scim._call(method, path, payload)


@pytest.fixture
def ann(scim):
    response = scim.post(
        "Users", {"schemas": [CORE], "userName": "ann@acme.example", "title": "Engineer"}
    )
    assert response.status_code == 201
    return response.body["id"]


def check(response, before):
    assert response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/scim+json")
    if response.status_code >= 400:
        assert state() == before, response.body


@FUZZ
@given(body=bodies, target=st.sampled_from(["Users", "Groups"]))
def test_generated_creates(scim, ann, body, target):
    before = state()
    check(send(scim, "post", target, body), before)


@FUZZ
@given(
    body=st.one_of(
        st.fixed_dictionaries({"schemas": st.just([PATCH]), "Operations": operations}), bodies
    ),
    method=st.sampled_from(["patch", "put"]),
    target=st.sampled_from(["Users", "Groups"]),
)
def test_generated_updates(scim, ann, main_office, body, method, target):
    resource_id = ann if target == "Users" else main_office.pk
    before = state()
    check(send(scim, method, f"{target}/{resource_id}", body), before)


@FUZZ
@given(
    filter_text=filters,
    extra=st.sampled_from(
        ["", "&sortBy=userName", "&count=-1&startIndex=0", "&attributes=emails,name.givenName"]
    ),
)
def test_generated_filters(scim, ann, filter_text, extra):
    from urllib.parse import quote

    before = state()
    for target in ("Users", "Groups", ""):
        response = scim.get(f"{target}?filter={quote(filter_text)}{extra}")
        check(response, before)
