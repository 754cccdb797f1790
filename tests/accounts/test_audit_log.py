"""Admin Settings › Audit log: filters, the CSV export, read-only for everyone."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.audit import SYSTEM, Source, SystemActor, record_audit
from accounts.models import AuditEvent
from tests.accounts.factories import UserFactory

LOG = reverse("admin:accounts_auditevent_changelist")
EXPORT = reverse("admin:accounts_auditevent_export")


@pytest.fixture
def events(company, other_company):
    ada = UserFactory(company=company, email="ada@acme.example", given_name="Ada", family_name="L")
    old = record_audit(
        actor=SystemActor("nightly-sync"),
        source=Source.TASK,
        action="user.updated",
        company=company,
        target=ada,
        before={"title": "A"},
        after={"title": "B"},
    )
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    record_audit(
        actor=SYSTEM, source=Source.SCIM, action="user.created", company=company, target=ada
    )
    record_audit(
        actor=SYSTEM,
        source=Source.SCIM,
        action="office.created",
        company=company,
        after={"name": '=HYPERLINK("http://evil")'},
    )
    spy = UserFactory(company=other_company, email="spy@globex.example")
    record_audit(
        actor=SYSTEM, source=Source.SCIM, action="user.created", company=other_company, target=spy
    )
    return ada


def actions(response):
    return sorted(event.action for event in response.context["cl"].result_list)


def test_filters_by_actor_target_and_date_range(company_admin_client, events):
    assert actions(company_admin_client.get(LOG, {"actor": "nightly"})) == ["user.updated"]
    assert actions(company_admin_client.get(LOG, {"target": "ada@acme"})) == [
        "user.created",
        "user.updated",
    ]
    by_id = company_admin_client.get(
        LOG, {"target_type": "accounts.user", "target_id": str(events.pk)}
    )
    assert actions(by_id) == ["user.created", "user.updated"]
    today = timezone.localdate().isoformat()
    recent = company_admin_client.get(LOG, {"from": today, "to": today, "target": "ada"})
    assert actions(recent) == ["user.created"]
    old_day = (timezone.localdate() - timedelta(days=10)).isoformat()
    assert actions(company_admin_client.get(LOG, {"to": old_day})) == ["user.updated"]
    # An unreadable date is ignored, not an error.
    assert company_admin_client.get(LOG, {"from": "yesterday-ish"}).status_code == 200


def test_csv_export_is_the_filtered_list_of_the_admins_company(company_admin_client, events):
    response = company_admin_client.get(EXPORT, {"source__exact": "scim"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time (UTC)", "action", "actor"]
    assert sorted(row[1] for row in rows[1:]) == ["office.created", "user.created"]
    assert "spy@globex.example" not in str(rows)
    # A value a spreadsheet would run as a formula is exported as text.
    after = next(row[9] for row in rows[1:] if row[1] == "office.created")
    assert after.startswith("'") or not after.startswith("=")
    assert "=HYPERLINK" in after


def test_csv_export_of_a_formula_cell_is_quoted():
    from accounts.audit_csv import _cell

    assert _cell("=1+1") == "'=1+1"
    assert _cell("@SUM(A1)") == "'@SUM(A1)"
    assert _cell("plain") == "plain"


def test_export_link_carries_the_filters(company_admin_client, events):
    body = company_admin_client.get(LOG, {"actor": "nightly"}).content.decode()
    assert f'href="{EXPORT}?actor=nightly"' in body


def test_export_with_a_bad_filter_goes_back_to_the_list(company_admin_client, events):
    response = company_admin_client.get(EXPORT, {"created_at__gte": "not a date"})
    assert response.status_code == 302


def test_members_cannot_export(client, member, events):
    client.force_login(member)
    response = client.get(EXPORT)
    assert response.status_code == 403  # not an admin: the no-access page
    assert not hasattr(response, "streaming_content")


def test_the_log_is_read_only_even_for_operators(client, events, django_user_model):
    operator = django_user_model.objects.create_superuser(
        email="ops@switchboard.example", password="x-long-password-1"
    )
    client.force_login(operator)
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert (
        client.post(reverse("admin:accounts_auditevent_change", args=[event.pk]), {}).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
