import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Role, User, UserStatus
from approvals.models import ChangeStatus, PendingChange, ProvisioningPolicy
from tests.accounts.factories import CompanyAdminFactory, UserFactory
from tests.approvals.factories import make_pending_change, policy, queue_create, queue_update

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:approvals_pendingchange_changelist"


def detail(change):
    return reverse("admin:approvals_pendingchange_change", args=[change.pk])


def test_policy_page_shows_scim_url_and_saves_toggles_audited(
    company_admin_client, company, company_admin, settings
):
    settings.PUBLIC_BASE_URL = "https://switchboard.example"
    response = company_admin_client.get(reverse("scim_provisioning"))
    body = response.content.decode()
    assert 'value="https://switchboard.example/scim/v2/"' in body
    assert "Copy" in body
    assert "My Company</a> &rsaquo; <a" in body
    assert "Authentication" in body
    response = company_admin_client.post(
        reverse("scim_provisioning"),
        {"require_create": "on", "require_delete": "on", "pending_change_ttl_days": "7"},
    )
    assert response.status_code == 302
    saved = ProvisioningPolicy.objects.get(company=company)
    assert (saved.require_create, saved.require_update, saved.require_delete) == (True, False, True)
    assert saved.pending_change_ttl_days == 7
    event = AuditEvent.objects.get(action="provisioning.policy_changed")
    assert event.actor_user == company_admin
    assert event.source == "admin"


def test_policy_page_rejects_bad_ttl_and_saves_nothing(company_admin_client, company):
    response = company_admin_client.post(
        reverse("scim_provisioning"), {"require_create": "on", "pending_change_ttl_days": "0"}
    )
    assert response.status_code == 200
    assert not ProvisioningPolicy.objects.exists()


def test_policy_page_is_linked_under_authentication(company_admin_client):
    response = company_admin_client.get(reverse("admin:section", args=["authentication"]))
    assert reverse("scim_provisioning") in response.content.decode()


def test_navigation_shows_the_pending_count(company_admin_client, company, scim_user):
    policy(company, "update")
    queue_update(company, scim_user, {"title": "CTO"})
    queue_update(company, scim_user, {"title": "CEO"})
    response = company_admin_client.get(reverse("admin:index"))
    assert "Pending approvals (2)" in response.content.decode()


def test_detail_page_shows_a_readable_diff(company_admin_client, company, scim_user):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO", "license_type": "sales"})
    body = company_admin_client.get(detail(change)).content.decode()
    assert "Title" in body
    assert "CTO" in body
    assert "Talk" in body
    assert "Sales" in body
    assert "Approve" in body
    assert "Reject" in body


def test_detail_page_shows_phone_numbers_as_written(company_admin_client, company, scim_user):
    policy(company, "update")
    phones = [{"value": "+1 650 555 0142", "type": "work"}, {"value": "+1 555 0100"}]
    change = queue_update(company, scim_user, {"phone_numbers": phones})
    body = company_admin_client.get(detail(change)).content.decode()
    assert "Phone numbers" in body
    assert "+1 650 555 0142 (work), +1 555 0100 (other)" in body


def test_create_detail_lists_the_new_user(company_admin_client, company, office):
    policy(company, "create")
    change = queue_create(company, {"email": "grace@acme.example", "given_name": "Grace"})
    body = company_admin_client.get(detail(change)).content.decode()
    assert "New user" in body
    assert "grace@acme.example" in body
    assert "Grace" in body


def test_approve_from_detail_applies_and_says_so(
    company_admin_client, company, scim_user, django_capture_on_commit_callbacks
):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    with django_capture_on_commit_callbacks(execute=True):
        response = company_admin_client.post(
            detail(change), {"decision": "approve", "comment": "ok"}, follow=True
        )
    assert f"Change #{change.pk} approved" in response.content.decode()
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED
    assert change.review_comment == "ok"
    assert User.objects.get(pk=scim_user.pk).title == "CTO"
    # Deciding again is refused with the reason.
    response = company_admin_client.post(detail(change), {"decision": "reject"}, follow=True)
    assert "already applied" in response.content.decode()


def test_bulk_approve_and_reject_with_comment(
    company_admin_client, company, scim_user, office, django_capture_on_commit_callbacks
):
    policy(company, "create", "update")
    first = queue_update(company, scim_user, {"title": "CTO"})
    second = queue_update(company, scim_user, {"department": "R&D"})
    create = queue_create(company, {"email": "grace@acme.example"})
    with django_capture_on_commit_callbacks(execute=True):
        company_admin_client.post(
            reverse(CHANGELIST),
            {
                "action": "approve_selected",
                "_selected_action": [first.pk, second.pk],
                "comment": "fine",
            },
        )
    reject = {"action": "reject_selected", "_selected_action": [create.pk], "comment": "who?"}
    # Bulk Reject asks first (it discards the changes), then rejects on confirmation.
    confirmation = company_admin_client.post(reverse(CHANGELIST), reject)
    assert confirmation.status_code == 200
    assert "Reject 1 change" in confirmation.content.decode()
    assert PendingChange.objects.get(pk=create.pk).status == "pending"
    company_admin_client.post(reverse(CHANGELIST), {**reject, "confirm": "yes"})
    statuses = dict(PendingChange.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "applied", second.pk: "applied", create.pk: "rejected"}
    assert PendingChange.objects.get(pk=create.pk).review_comment == "who?"
    scim_user.refresh_from_db()
    assert (scim_user.title, scim_user.department) == ("CTO", "R&D")
    assert not User.objects.filter(email="grace@acme.example").exists()


def test_list_filters(company_admin_client, company, scim_user, office):
    policy(company, "create", "update")
    update = queue_update(company, scim_user, {"title": "CTO"})
    create = queue_create(company, {"email": "grace@acme.example"})

    def shown(params):
        response = company_admin_client.get(reverse(CHANGELIST), params)
        return {obj.pk for obj in response.context["cl"].result_list}

    assert shown({"operation__exact": "create"}) == {create.pk}
    assert shown({"user__id__exact": scim_user.pk}) == {update.pk}
    assert shown({"age": "day"}) == {update.pk, create.pk}
    assert shown({"age": "older"}) == set()
    assert shown({"status__exact": "pending"}) == {update.pk, create.pk}


def test_admin_who_is_not_approver_sees_but_cannot_decide(client, company, scim_user):
    admin = CompanyAdminFactory(company=company, is_approver=False)
    client.force_login(admin)
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    body = client.get(detail(change)).content.decode()
    assert "Only approvers decide" in body
    response = client.post(detail(change), {"decision": "approve"}, follow=True)
    assert "not an approver" in response.content.decode()
    change.refresh_from_db()
    assert change.status == ChangeStatus.PENDING
    listing = client.get(reverse(CHANGELIST))
    assert "approve_selected" not in listing.content.decode()


def test_approver_who_is_no_admin_reaches_only_the_approval_pages(
    client, company, scim_user, django_capture_on_commit_callbacks
):
    approver = UserFactory(
        company=company,
        email="appr@acme.example",
        is_approver=True,
        role=Role.MEMBER,
        password="correct-horse-battery-staple",
    )
    client.force_login(approver)  # signing in is /login/'s job (password or SSO)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert [app["name"] for app in index.context["app_list"]] == ["Pending approvals"]
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    assert client.get(reverse(CHANGELIST)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(detail(change), {"decision": "approve"})
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPLIED
    # Everything else of Admin Settings stays closed.
    for name in ("admin:accounts_user_changelist", "admin:apikeys_apikey_changelist"):
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("scim_provisioning")).status_code == 403


def test_member_who_is_not_approver_cannot_open_admin_settings(client, company):
    client.force_login(UserFactory(company=company, email="m@acme.example"))
    assert client.get(reverse("admin:index")).status_code == 403
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_other_company_change_is_404_and_not_decided(company_admin_client, other_company):
    foreign = make_pending_change(other_company)
    assert company_admin_client.get(detail(foreign)).status_code == 404
    assert company_admin_client.post(detail(foreign), {"decision": "approve"}).status_code == 404
    company_admin_client.post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [foreign.pk]}
    )
    foreign.refresh_from_db()
    assert foreign.status == ChangeStatus.PENDING


def test_suspended_user_cannot_decide(client, company, scim_user):
    user = CompanyAdminFactory(company=company, status=UserStatus.SUSPENDED)
    client.force_login(user)
    assert client.get(reverse(CHANGELIST)).status_code == 302


def test_bulk_approve_of_all_skips_the_decided_and_lists_a_few_of_them(
    company_admin_client, company, company_admin, monkeypatch
):
    from approvals import admin as approvals_admin
    from approvals import services

    monkeypatch.setattr(services, "send_once", lambda *args: None)
    monkeypatch.setattr(approvals_admin, "MAX_REFUSALS_SHOWN", 2)
    changes = [make_pending_change(company) for _ in range(6)]
    decided = changes[:3]
    services.approve_changes(
        company=company,
        change_ids=[change.pk for change in decided],
        actor=company_admin,
        source="admin",
    )
    response = company_admin_client.post(
        reverse(CHANGELIST),
        {"action": "approve_selected", "_selected_action": [c.pk for c in changes]},
        follow=True,
    )
    page = response.content.decode()
    assert "Approved 3 changes." in page
    assert f"Change #{decided[0].pk} is already approved, applying by admin@acme.example" in page
    assert f"Change #{decided[2].pk} is already" not in page
    assert "… and 1 more change not pending any more." in page
    assert set(PendingChange.objects.values_list("status", flat=True)) == {ChangeStatus.APPROVED}
    assert AuditEvent.objects.filter(action="provisioning.change_approved").count() == 6


def test_a_comment_the_database_cannot_hold_is_refused_and_decides_nothing(
    company_admin_client, company, scim_user
):
    """The detail page handed its comment to the services as posted: one with a NUL character
    (which PostgreSQL text cannot hold) was a 500 after the decision had been half made."""
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    for decision in ("approve", "reject"):
        response = company_admin_client.post(
            detail(change), {"decision": decision, "comment": "ok\x00"}, follow=True
        )
        assert response.status_code == 200
        assert "comment" in response.content.decode().lower()
        change.refresh_from_db()
        assert change.status == ChangeStatus.PENDING
    decided = ("provisioning.change_approved", "provisioning.change_rejected")
    assert not AuditEvent.objects.filter(action__in=decided).exists()
