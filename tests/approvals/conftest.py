import pytest

from tests.accounts.factories import UserFactory
from tests.offices.factories import PhoneNumberFactory
from tests.provisioning import conftest as scim_fixtures


@pytest.fixture
def office(company, main_office):
    main = main_office
    for n in range(3):
        PhoneNumberFactory(company=company, office=main, number=f"+141555501{n:02d}")
    return main


@pytest.fixture
def approver(company):
    return UserFactory(company=company, email="approver@acme.example", is_approver=True)


@pytest.fixture
def scim_user(company, office):
    from accounts.audit import SYSTEM, Source
    from members import services

    return services.create_member_from_change(
        company=company,
        changes={"email": "ada@acme.example", "given_name": "Ada", "family_name": "Lovelace"},
        actor=SYSTEM,
        source=Source.SCIM,
    )


# The SCIM suite's client, key and main office, so the SCIM flows re-run here with approval on.
api_key = scim_fixtures.api_key
scim = scim_fixtures.scim
main_office = scim_fixtures.main_office
