"""The REST API applies approved changes through the same services: a change that would put an
account in another company's verified domain fails, naming no company."""

import pytest

from accounts.models import User, UserStatus
from approvals.models import ChangeStatus
from tests.accounts.factories import CompanyDomainFactory, UserFactory
from tests.approvals.factories import policy, queue_create, queue_update

pytestmark = pytest.mark.django_db


def approve(api, change, capture):
    with capture(execute=True):
        response = api.post(f"/api/v1/pending_changes/{change.pk}/approve")
    assert response.status_code == 200, response.json()
    change.refresh_from_db()
    return change


def test_an_email_change_into_a_domain_verified_since_fails(
    api, company, other_company, django_capture_on_commit_callbacks
):
    policy(company, "update")
    user = UserFactory(company=company, email="ann@acme.example")
    change = queue_update(company, user, {"email": "ann@globex.example"})
    CompanyDomainFactory(company=other_company, domain="globex.example", verified=True)

    change = approve(api, change, django_capture_on_commit_callbacks)
    assert change.status == ChangeStatus.FAILED
    assert "verified by another organization" in change.error
    assert other_company.name not in change.error
    assert User.objects.get(pk=user.pk).email == "ann@acme.example"
    detail = api.get(f"/api/v1/pending_changes/{change.pk}/").json()
    assert other_company.name not in str(detail)


def test_a_create_in_a_domain_verified_since_is_not_activated(
    api, company, other_company, django_capture_on_commit_callbacks
):
    policy(company, "create")
    change = queue_create(company, {"email": "newhire@globex.example"})
    CompanyDomainFactory(company=other_company, domain="globex.example", verified=True)

    change = approve(api, change, django_capture_on_commit_callbacks)
    assert change.status == ChangeStatus.FAILED
    assert "verified by another organization" in change.error
    assert User.objects.get(pk=change.user_id).status == UserStatus.PENDING
