"""Admin Settings never loops: a signed-in person without access gets a 403 page that says where
they can go instead; only the signed-out are sent to sign in."""

import pytest
from django.urls import reverse

from accounts.admin_site import admin_site
from accounts.models import Role
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

APPROVER_PAGES = {"admin:approvals_pendingchange_changelist", "admin:index"}


def every_admin_page() -> list[str]:
    """Every list page of the registry, every linked page and every section page."""
    names = [
        f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        for model in admin_site._registry
    ]
    # The REST API's documentation is public reading; every other link is a console page.
    names += [link.url_name for link in admin_site._links if link.url_name != "api:docs"]
    return sorted(set(names))


@pytest.fixture
def approver(company):
    return UserFactory(
        company=company, email="approver@acme.example", is_approver=True, role=Role.MEMBER
    )


def assert_no_access_page(response, *, go_to: str, label: str) -> None:
    assert response.status_code == 403
    body = response.content.decode()
    assert "You don’t have access to this page" in body
    assert f'href="{go_to}"' in body
    assert label in body


@pytest.mark.parametrize("name", [*every_admin_page(), "admin:index"])
def test_member_gets_403_pointing_to_app_not_a_redirect(client, member, name):
    client.force_login(member)
    response = client.get(reverse(name))
    assert_no_access_page(response, go_to="/app/", label="your home page")


def test_member_signing_in_towards_admin_ends_on_a_403_not_a_loop(client, member):
    client.force_login(member)
    response = client.get("/login/?next=/admin/", follow=True)
    assert len(response.redirect_chain) == 1  # /login/ → /admin/, then the 403 page
    assert response.redirect_chain[0][0] == "/admin/"
    assert_no_access_page(response, go_to="/app/", label="your home page")
    # Admin Settings' own sign-in page sends a signed-in member on without looping either.
    response = client.get("/admin/login/?next=/admin/", follow=True)
    assert response.status_code == 403


@pytest.mark.parametrize("name", sorted(set(every_admin_page()) - APPROVER_PAGES))
def test_approver_gets_403_pointing_to_pending_approvals(client, approver, name):
    client.force_login(approver)
    response = client.get(reverse(name))
    assert_no_access_page(
        response,
        go_to=reverse("admin:approvals_pendingchange_changelist"),
        label="Pending approvals",
    )


@pytest.mark.parametrize("name", sorted(APPROVER_PAGES))
def test_approver_opens_the_approval_pages(client, approver, name):
    client.force_login(approver)
    assert client.get(reverse(name)).status_code == 200


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_home_shows_authentication_inside_my_company(company_admin_client):
    body = company_admin_client.get(reverse("admin:index")).content.decode()
    my_company = body.split('id="section-my-company"')[1].split(
        'class="module switchboard-section"'
    )[0]
    assert 'id="section-authentication"' in my_company
    assert "API Keys" in my_company or "Api keys" in my_company
    assert body.count('class="module switchboard-section"') == body.count("<caption>")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/apikeys/apikey/", "/admin/my-company/authentication/api-keys/"),
        ("/admin/apikeys/apikey/add/?x=1", "/admin/my-company/authentication/api-keys/add/?x=1"),
        ("/admin/authentication/saml-sso/", "/admin/my-company/authentication/saml-sso/"),
        ("/admin/scim-provisioning/", "/admin/my-company/authentication/scim-provisioning/"),
    ],
)
def test_authentication_pages_live_under_my_company_and_old_addresses_redirect(
    company_admin_client, old, new
):
    response = company_admin_client.get(old)
    assert response.status_code == 308  # a POST to a bookmarked form keeps its body
    assert response["Location"] == new
    assert company_admin_client.get(new).status_code == 200
