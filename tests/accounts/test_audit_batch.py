"""accounts.audit.audit_batch: a change's events in one INSERT, with the change or not at all."""

import pytest
from django.db import transaction

from accounts.audit import SYSTEM, Source, audit_batch, record_audit
from accounts.models import AuditEvent
from core.request_context import current_request_id

pytestmark = pytest.mark.django_db


def record(company, action):
    return record_audit(actor=SYSTEM, source=Source.SCIM, action=action, company=company)


def test_events_are_written_in_one_insert_in_order_when_the_block_ends(
    company, django_assert_num_queries
):
    token = current_request_id.set("req-1")
    try:
        with django_assert_num_queries(1), audit_batch():
            first = record(company, "number.released")
            with audit_batch():  # nested: the outer block writes
                second = record(company, "user.suspended")
            assert first.pk is None
    finally:
        current_request_id.reset(token)
    assert first.pk < second.pk
    events = AuditEvent.objects.filter(company=company).order_by("pk")
    assert [(e.action, e.request_id, e.source) for e in events] == [
        ("number.released", "req-1", "scim"),
        ("user.suspended", "req-1", "scim"),
    ]


def suspend_then_fail(company):
    with transaction.atomic(), audit_batch():
        record(company, "user.suspended")
        raise RuntimeError


def test_nothing_is_written_when_the_block_fails(company):
    with pytest.raises(RuntimeError):
        suspend_then_fail(company)
    assert not AuditEvent.objects.filter(company=company).exists()
    record(company, "user.created")  # and outside a batch, record_audit writes at once
    assert AuditEvent.objects.filter(company=company).count() == 1


def test_a_nested_batch_that_fails_leaves_its_events_out(company):
    with audit_batch():
        record(company, "user.updated")
        with pytest.raises(RuntimeError):
            suspend_then_fail(company)
    assert list(AuditEvent.objects.filter(company=company).values_list("action", flat=True)) == [
        "user.updated"
    ]
