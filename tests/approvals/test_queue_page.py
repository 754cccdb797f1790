"""Pending approvals as an approver reads it: the queue by default, titles and counts in words,
a diff in the admin's words, distinct Approve and Reject, a user filter that scales."""

import pytest
from django.urls import reverse

from approvals.models import ChangeStatus, PendingChange
from tests.approvals.factories import policy, queue_create, queue_update

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:approvals_pendingchange_changelist")


@pytest.fixture
def queue(company, scim_user, office):
    policy(company, "create", "update")
    update = queue_update(company, scim_user, {"title": "CTO"})
    create = queue_create(
        company,
        {
            "email": "grace@acme.example",
            "email_addresses": [{"value": "grace@acme.example", "primary": True, "type": "work"}],
        },
    )
    decided = queue_update(company, scim_user, {"department": "R&D"})
    PendingChange.objects.filter(pk=decided.pk).update(status=ChangeStatus.REJECTED)
    return update, create, decided


def shown(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def test_the_list_shows_the_queue_by_default_with_a_plain_title_and_count(
    company_admin_client, queue
):
    update, create, decided = queue
    response = company_admin_client.get(CHANGELIST)
    assert shown(response) == {update.pk, create.pk}
    body = response.content.decode()
    assert "<h1>Pending approvals</h1>" in body
    assert "Select pending approval" not in body
    assert "2 changes" in body
    assert "Change #" in body
    everything = company_admin_client.get(CHANGELIST, {"status__exact": "all"})
    assert shown(everything) == {update.pk, create.pk, decided.pk}
    assert "3 changes" in everything.content.decode()
    rejected = company_admin_client.get(CHANGELIST, {"status__exact": "rejected"})
    assert shown(rejected) == {decided.pk}
    assert shown(company_admin_client.get(CHANGELIST, {"status__exact": "nonsense"})) == set()


def test_the_user_filter_is_typed_not_a_list_of_every_user(company_admin_client, queue, scim_user):
    _, create, _ = queue
    response = company_admin_client.get(CHANGELIST, {"user": "grace@"})
    assert shown(response) == {create.pk}
    body = response.content.decode()
    assert 'name="user"' in body
    assert shown(company_admin_client.get(CHANGELIST, {"user__id__exact": "x"})) == set()


def detail_page(client, change) -> str:
    return client.get(
        reverse("admin:approvals_pendingchange_change", args=[change.pk])
    ).content.decode()


def test_the_diff_reads_emails_as_emails(company_admin_client, queue):
    _, create, _ = queue
    body = detail_page(company_admin_client, create)
    assert "grace@acme.example (work, primary)" in body
    assert "&#x27;value&#x27;" not in body
    assert "{" not in body.split('class="diff"')[1].split("</table>")[0]
    assert "Email addresses" in body


def test_approve_and_reject_are_distinct_buttons(company_admin_client, queue):
    update, _, _ = queue
    body = detail_page(company_admin_client, update)
    assert 'class="button default" name="decision" value="approve"' in body
    assert 'class="button danger" name="decision" value="reject"' in body
