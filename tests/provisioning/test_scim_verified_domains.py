"""SCIM cannot create or move an account into an email domain another company verified, and
its refusal names no company (nor tells whether the address is taken there)."""

import pytest

from accounts.models import User
from tests.accounts.factories import CompanyDomainFactory, UserFactory
from tests.approvals.factories import policy
from tests.provisioning.test_scim_users import PATCH, assert_error, new_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex_domain(other_company):
    return CompanyDomainFactory(company=other_company, domain="globex.example", verified=True)


def post_user(scim, email):
    return scim.post(
        "Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": email,
            "emails": [{"value": email, "type": "work", "primary": True}],
        },
    )


@pytest.mark.parametrize("email", ["newhire@globex.example", "newhire@EU.Globex.example"])
def test_create_in_another_company_verified_domain_is_400_naming_no_company(
    scim, globex_domain, other_company, email
):
    response = post_user(scim, email)
    assert_error(response, 400, "invalidValue")
    assert "verified by another organization" in response.body["detail"]
    assert other_company.name not in response.body["detail"]
    assert not User.objects.filter(email__iexact=email).exists()


def test_an_address_taken_there_is_no_409(scim, globex_domain, other_company):
    """A 409 would tell the caller the address exists in another company."""
    UserFactory(company=other_company, email="ceo@globex.example")
    response = post_user(scim, "ceo@globex.example")
    assert_error(response, 400, "invalidValue")
    assert "already" not in response.body["detail"]


def test_a_queued_create_is_refused_the_same_way(scim, company, globex_domain):
    policy(company, "create")
    assert_error(post_user(scim, "newhire@globex.example"), 400, "invalidValue")
    assert not User.objects.filter(email="newhire@globex.example").exists()


def test_moving_an_account_into_that_domain_is_refused(scim, globex_domain, other_company):
    created = new_user(scim, "ann@acme.example")
    response = scim.patch(
        f"Users/{created['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "replace",
                    "value": {"emails": [{"value": "ann@globex.example", "primary": True}]},
                }
            ],
        },
    )
    assert_error(response, 400, "invalidValue")
    assert other_company.name not in response.body["detail"]
    assert User.objects.get(pk=created["id"]).email == "ann@acme.example"


@pytest.mark.parametrize(
    "email",
    [
        "contractor@gmail.com",  # free mail: nobody's
        "contractor@initech.example",  # only claimed (pending) by another company
    ],
)
def test_unverified_and_free_mail_domains_stay_allowed(scim, other_company, email):
    CompanyDomainFactory(company=other_company, domain="initech.example")
    assert post_user(scim, email).status_code == 201
