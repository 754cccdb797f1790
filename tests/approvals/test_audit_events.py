"""One registry of audit event types: every action written is declared with its label, and the
pages read the labels (a reserve-then-approve history, the SCIM panel, the log, the CSV)."""

import ast
import csv
import io
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from accounts import audit_events, selectors
from accounts.audit import Source
from accounts.audit_display import event_label
from accounts.models import AuditEvent, User
from approvals import services
from approvals.models import ChangeStatus
from core.request_context import current_request_id
from provisioning.activity import provisioning_status
from tests.approvals.factories import policy, queue_create

pytestmark = pytest.mark.django_db

CODE_IN_A_CONSTANT = r"(api_key|scim|user|provisioning)\.[a-z_]+_[a-z_]+"
APPS = ("accounts", "api", "apikeys", "approvals", "config", "offices", "provisioning", "sso")


def written_actions() -> tuple[set[str], set[str]]:
    """Every `action=` the code passes to the audit writers: literals, and f-string prefixes."""
    literals: set[str] = set()
    prefixes: set[str] = set()
    root = Path(settings.BASE_DIR)
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts or "management" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.keyword) and node.arg == "action":
                    value = node.value
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        literals.add(value.value)
                    elif isinstance(value, ast.JoinedStr) and isinstance(
                        value.values[0], ast.Constant
                    ):
                        prefixes.add(str(value.values[0].value))
                # Codes kept in constants or passed on ("api_key.revoked_key_used").
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and re.fullmatch(
                        r"(api_key|scim|user|provisioning)\.[a-z_]+_[a-z_]+", node.value
                    )
                ):
                    literals.add(node.value)
    return literals, prefixes


def test_every_action_written_anywhere_is_declared():
    literals, prefixes = written_actions()
    assert len(literals) > 40  # the scan really finds the services' actions
    missing = sorted(code for code in literals if code not in audit_events.EVENT_TYPES)
    assert not missing, f"Declare these in accounts/audit_events.py: {missing}"
    for prefix in prefixes:
        assert any(code.startswith(prefix) for code in audit_events.EVENT_TYPES), prefix
    # Each f-string family is declared for every value it can take.
    for status in (ChangeStatus.APPLIED, ChangeStatus.FAILED, ChangeStatus.REJECTED):
        assert f"provisioning.change_{status}" in audit_events.EVENT_TYPES
    for method in ("sso", "password", "break_glass"):
        assert f"auth.sign_in.{method}" in audit_events.EVENT_TYPES


def test_every_declared_label_is_words_not_a_code():
    for event_type in audit_events.EVENT_TYPES.values():
        assert event_type.label[0].isupper(), event_type.code
        assert "_" not in event_type.label, event_type.code
        assert "." not in event_type.label, event_type.code


def test_values_read_as_the_admin_wrote_them():
    emails = [{"value": "ada@acme.example", "type": "work", "primary": True}]
    assert audit_events.value_text(emails) == "ada@acme.example (work, primary)"
    assert audit_events.value_text(["a", "b"]) == "a, b"
    assert audit_events.value_text(True) == "yes"
    assert audit_events.value_text(None) == "—"
    summary = audit_events.describe_values(
        {"family_name": "Smith", "middle_name": None, "title": "CEO"},
        {"family_name": "Smyth", "middle_name": None, "title": "CEO"},
    )
    assert summary == "Last name: Smith → Smyth"  # only what changed
    created = audit_events.describe_values({}, {"email": "a@b.example", "middle_name": ""})
    assert created == "Email: a@b.example"  # empty values are no news


def test_an_undeclared_old_code_still_reads_as_words():
    assert audit_events.label("legacy.thing_done") == "legacy: thing done"


def test_reserve_then_approve_reads_reserved_approved_active(
    company, office, approver, django_capture_on_commit_callbacks
):
    policy(company, "create")
    change = queue_create(
        company,
        {
            "email": "grace@acme.example",
            "given_name": "Grace",
            "email_addresses": [{"value": "grace@acme.example", "primary": True}],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_change(change=change, actor=approver, source=Source.ADMIN)
    user = User.objects.get(pk=change.user_id)
    history = [event_label(event) for event in reversed(selectors.user_history(user))]
    assert "User suspended" not in history
    assert "User created" not in history
    milestones = [
        label
        for label in history
        if label in ("Reserved, awaiting approval", "Change approved", "Active after approval")
    ]
    assert milestones == ["Reserved, awaiting approval", "Change approved", "Active after approval"]
    reserved = AuditEvent.objects.get(action="user.reserved", target_id=str(user.pk))
    assert reserved.after["status"] == "pending"
    assert reserved.after["email"] == "grace@acme.example"
    # A JSON field is audited as JSON, so it reads as the list it is.
    assert reserved.after["email_addresses"] == [{"value": "grace@acme.example", "primary": True}]


@contextmanager
def request_id(value):
    token = current_request_id.set(value)
    try:
        yield
    finally:
        current_request_id.reset(token)


def test_the_scim_panel_counts_an_approved_create_as_a_create(
    company, office, approver, django_capture_on_commit_callbacks
):
    policy(company, "create")
    changes = []
    for name in ("ann", "bo"):
        with request_id(f"scim-post-{name}"):
            changes.append(queue_create(company, {"email": f"{name}@acme.example"}))
    with request_id("approving-request"), django_capture_on_commit_callbacks(execute=True):
        services.approve_changes(  # one admin request approves both
            company=company,
            change_ids=[change.pk for change in changes],
            actor=approver,
            source=Source.ADMIN,
        )
    status = provisioning_status(company)
    assert status.counts["24 hours"]["queued"] == 2
    assert status.counts["24 hours"]["creates"] == 2
    assert status.counts["24 hours"]["updates"] == 0
    assert status.last_change_label in (
        "Active after approval",
        "Phone number assigned",
        "License assigned",
    )


def test_audit_log_and_csv_speak_in_labels(company_admin_client, company, office):
    policy(company, "create")
    queue_create(company, {"email": "grace@acme.example"})
    page = company_admin_client.get(reverse("admin:accounts_auditevent_changelist"))
    body = page.content.decode()
    assert "Reserved, awaiting approval" in body
    assert "What happened" in body
    assert "Actor label" not in body
    assert "Target label" not in body
    assert ">user.reserved<" not in body
    export = company_admin_client.get(reverse("admin:accounts_auditevent_export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    event_column = rows[0].index("event")
    assert "Reserved, awaiting approval" in [row[event_column] for row in rows[1:]]


def test_the_light_reflects_the_last_minutes_not_an_old_refusal(company, scim, api_key):
    from datetime import timedelta

    from django.utils import timezone

    scim.get("Users")
    scim.post("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})
    assert provisioning_status(company).health == "errors"
    AuditEvent.objects.filter(action="scim.request_refused").update(
        created_at=timezone.now() - timedelta(minutes=16)
    )
    status = provisioning_status(company)
    assert status.health == "connected"
    assert status.counts["24 hours"]["errors"] == 1  # still counted, no longer the light


def test_json_fields_are_audited_as_json_and_old_rows_read_as_lists():
    old_row = "[{'value': 'grace@acme.example', 'primary': True}]"
    assert audit_events.value_text(old_row) == "grace@acme.example (primary)"
    assert audit_events.value_text("[not python") == "[not python"
