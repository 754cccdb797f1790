"""Audit retention: events older than AUDIT_RETENTION_DAYS are deleted in batches, after an
optional export, and one summary event says so."""

import csv
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import retention
from accounts.audit import SYSTEM, Source, record_audit
from accounts.models import AuditEvent
from accounts.tasks import apply_audit_retention
from tests.console.browser import DESKTOP, PHONE, no_horizontal_scroll, shot, sign_in_with_password
from tests.console.test_console_browser import make_company

pytestmark = pytest.mark.django_db


def event(company, days_old: int, action: str = "test.event") -> AuditEvent:
    row = record_audit(actor=SYSTEM, source=Source.CLI, action=action, company=company)
    AuditEvent.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(days=days_old)
    )
    return row


def test_events_past_the_retention_are_deleted_and_one_summary_is_audited(company, settings):
    assert settings.AUDIT_RETENTION_DAYS == 400
    old = [event(company, 401) for _ in range(3)]
    kept = [event(company, 399), event(company, 0)]
    assert apply_audit_retention.delay().get() == 3
    remaining = set(AuditEvent.objects.values_list("pk", flat=True))
    assert not remaining & {e.pk for e in old}
    assert {e.pk for e in kept} <= remaining
    summary = AuditEvent.objects.get(action="audit.retention_applied")
    assert summary.company is None
    assert summary.actor_label == "audit retention"
    assert summary.after["deleted"] == 3
    assert summary.after["retention_days"] == 400
    assert summary.after["exported_to"] is None
    # Nothing left to delete: no further summary.
    assert retention.apply_audit_retention() == 0
    assert AuditEvent.objects.filter(action="audit.retention_applied").count() == 1


def test_batches_are_exported_to_csv_before_they_are_deleted(
    company, settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(retention, "RETENTION_BATCH_SIZE", 2)
    settings.AUDIT_EXPORT_DIR = str(tmp_path / "exports")
    old = [event(company, 500, action=f"test.old{n}") for n in range(5)]
    event(company, 1, action="test.recent")
    assert retention.apply_audit_retention() == 5
    (export,) = (tmp_path / "exports").iterdir()
    with export.open(newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0][0] == "time (UTC)"
    assert sorted(row[1] for row in rows[1:]) == sorted(e.action for e in old)
    summary = AuditEvent.objects.get(action="audit.retention_applied")
    assert summary.after == {**summary.after, "deleted": 5, "exported_to": export.name}


def test_json_export(company, settings, tmp_path):
    settings.AUDIT_EXPORT_DIR = str(tmp_path)
    settings.AUDIT_EXPORT_FORMAT = "json"
    old = event(company, 500)
    assert retention.apply_audit_retention() == 1
    (export,) = tmp_path.glob("*.jsonl")
    (line,) = export.read_text().splitlines()
    assert json.loads(line)["id"] == old.pk
    assert json.loads(line)["company_id"] == company.pk


def test_a_failed_export_deletes_nothing(company, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.AUDIT_EXPORT_DIR = str(blocker)
    old = event(company, 500)
    with pytest.raises(FileExistsError):
        retention.apply_audit_retention()
    assert AuditEvent.objects.filter(pk=old.pk).exists()
    assert not AuditEvent.objects.filter(action="audit.retention_applied").exists()


def test_zero_keeps_every_event(company, settings):
    settings.AUDIT_RETENTION_DAYS = 0
    old = event(company, 5000)
    assert retention.apply_audit_retention() == 0
    assert AuditEvent.objects.filter(pk=old.pk).exists()


def test_the_audit_log_page_says_how_far_back_it_goes(company_admin_client, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    since = timezone.now() - timedelta(days=30)
    response = company_admin_client.get(reverse("admin:accounts_auditevent_changelist"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "The log keeps events for 30 days: it goes back to " in text
    assert f"{since:%B} {since.year}" in text


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(("device", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_retention_line_reads_well_on_the_audit_log_page(
    browser, live_server, device, viewport
):
    make_company()
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    page = context.new_page()
    sign_in_with_password(page, live_server.url, "admin@acme.example")
    page.goto(f"{live_server.url}{reverse('admin:accounts_auditevent_changelist')}")
    line = page.locator("#audit-retention")
    assert line.is_visible()
    assert "keeps events for 400 days" in line.inner_text()
    shot(page, f"{device}-audit-log-retention")
    assert no_horizontal_scroll(page)
    context.close()
