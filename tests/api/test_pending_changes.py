"""/api/v1/pending_changes: the approval queue, decided by a key with the api:approve scope."""

import pytest

from accounts.models import AuditEvent, User
from apikeys.models import Scope
from approvals.models import ChangeStatus, PendingChange
from tests.accounts.factories import UserFactory
from tests.approvals.factories import policy, queue_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def change(company):
    policy(company, "update")
    user = UserFactory(company=company, email="grace@acme.example", title="Engineer")
    return queue_update(company, user, {"title": "Director"})


def test_list_and_retrieve_with_diff(api, change):
    listed = api.get("/api/v1/pending_changes/?status=pending").json()["results"]
    assert [row["id"] for row in listed] == [change.pk]
    assert listed[0]["operation"] == "update"
    assert listed[0]["user"]["email"] == "grace@acme.example"

    detail = api.get(f"/api/v1/pending_changes/{change.pk}/")
    assert detail.status_code == 200
    title = next(row for row in detail.json()["diff"] if row["label"] == "Title")
    assert title == {"label": "Title", "before": "Engineer", "after": "Director", "changed": True}
    assert detail.headers["ETag"]


def test_approve_applies_the_change_acting_as_the_key(
    api, change, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/pending_changes/{change.pk}/approve",
            {"comment": "ok by chat bot"},
            format="json",
        )

    assert response.status_code == 200, response.json()
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED, (change.status, change.error)
    assert User.objects.get(pk=change.user_id).title == "Director"
    event = AuditEvent.objects.get(action="provisioning.change_approved", target_id=str(change.pk))
    assert event.actor_kind == "api_key"
    assert api.api_key.prefix in event.actor_label
    assert event.source == "api"
    assert event.after["comment"] == "ok by chat bot"


def test_approving_twice_is_a_409_and_changes_nothing(api, change):
    assert api.post(f"/api/v1/pending_changes/{change.pk}/approve").status_code == 200
    events = AuditEvent.objects.count()

    again = api.post(f"/api/v1/pending_changes/{change.pk}/approve")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_decided"
    assert AuditEvent.objects.count() == events


def test_reject_discards_the_change(api, change):
    response = api.post(f"/api/v1/pending_changes/{change.pk}/reject", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert User.objects.get(pk=change.user_id).title == "Engineer"


def test_deciding_needs_the_approve_scope(company, change, client_for):
    writer = client_for(company, [Scope.API_READ, Scope.API_WRITE])
    response = writer.post(f"/api/v1/pending_changes/{change.pk}/approve")
    assert response.status_code == 403
    assert "'api:approve'" in response.json()["error"]["message"]
    assert PendingChange.objects.get(pk=change.pk).status == ChangeStatus.PENDING


def test_bad_comment_shape_is_a_400(api, change):
    response = api.post(
        f"/api/v1/pending_changes/{change.pk}/approve", {"comment": ["x"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "comment"
    assert PendingChange.objects.get(pk=change.pk).status == ChangeStatus.PENDING
