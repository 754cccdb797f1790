import pytest

from tests.accounts.factories import UserFactory
from tests.offices.factories import OfficeFactory, PhoneNumberFactory


@pytest.fixture
def office(company):
    main = OfficeFactory(company=company, name="HQ", is_main=True)
    for n in range(3):
        PhoneNumberFactory(company=company, office=main, number=f"+141555501{n:02d}")
    return main


@pytest.fixture
def approver(company):
    return UserFactory(company=company, email="approver@acme.example", is_approver=True)


@pytest.fixture
def scim_user(company, office):
    from accounts.audit import SYSTEM, Source
    from provisioning import services

    return services.provision_user(
        company=company,
        changes={"email": "ada@acme.example", "given_name": "Ada", "family_name": "Lovelace"},
        actor=SYSTEM,
        source=Source.SCIM,
    )


# The SCIM suite's client and key, so the SCIM flows re-run here with approval on.
from tests.provisioning.conftest import api_key, scim  # noqa: E402, F401
