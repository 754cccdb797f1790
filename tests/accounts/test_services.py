import re

import pytest

from accounts import domains, services
from accounts.audit import SYSTEM, Source
from accounts.errors import Conflict, DomainError
from accounts.models import AuditEvent, Company, CompanyDomain, LicenseSeats, Role, User, UserStatus
from members import services as member_services
from tests.accounts.factories import CompanyAdminFactory, UserFactory

pytestmark = pytest.mark.django_db


def audit(action):
    return list(AuditEvent.objects.filter(action=action))


def test_create_company_with_domains_and_empty_seats():
    company = services.create_company(
        name="Initech",
        slug="initech",
        plan="enterprise",
        domains=["Initech.Example"],
        actor=SYSTEM,
        source=Source.CLI,
    )
    assert company.is_enterprise
    assert list(company.domains.values_list("domain", flat=True)) == ["initech.example"]
    assert {row.license_type: row.seats for row in company.license_seats.all()} == {
        "talk": 0,
        "contact_center": 0,
        "sales": 0,
    }
    [event] = audit("company.created")
    assert event.company == company
    assert event.actor_kind == "system"
    assert event.after == {"name": "Initech", "slug": "initech", "plan": "enterprise"}
    assert len(audit("company.domain_added")) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "-edge"}, "slug"),
        ({"name": ""}, "name"),
        ({"plan": "platinum"}, "plan"),
        ({"domains": ["not a domain"]}, "domain"),
    ],
)
def test_create_company_refuses_bad_input_and_writes_nothing(kwargs, field):
    arguments = {"name": "Initech", "slug": "initech", **kwargs}
    with pytest.raises(DomainError) as caught:
        services.create_company(actor=SYSTEM, source=Source.CLI, **arguments)
    assert caught.value.field == field
    assert not Company.objects.exists()
    assert not AuditEvent.objects.exists()


def test_domain_verified_by_another_company_refused_and_nothing_half_written(company):
    """A pending claim blocks nobody; a verified one cannot be claimed by another company."""
    claim = services.add_company_domain(
        company=company, domain="acme.example", actor=SYSTEM, source=Source.CLI
    )
    domains.verify_domain(claim=claim, method="operator", actor=SYSTEM, source=Source.CLI)
    with pytest.raises(Conflict, match="verified by another organization") as caught:
        services.create_company(
            name="Copycat",
            slug="copycat",
            domains=["ACME.example"],
            actor=SYSTEM,
            source=Source.CLI,
        )
    assert company.name not in caught.value.message
    assert not Company.objects.filter(slug="copycat").exists()
    with pytest.raises(Conflict, match=r"already added acme\.example"):
        services.add_company_domain(
            company=company, domain="acme.example", actor=SYSTEM, source=Source.CLI
        )
    assert CompanyDomain.objects.count() == 1


def test_duplicate_slug_refused(company):
    with pytest.raises(Conflict, match="taken"):
        services.create_company(name="Acme 2", slug="acme", actor=SYSTEM, source=Source.CLI)


def test_create_user_audits_and_hashes_password(company, company_admin):
    user = member_services.create_member(
        company=company,
        email="Jane.Doe@ACME.example",
        given_name="Jane",
        family_name="Doe",
        password="a-long-unusual-passphrase",
        actor=company_admin,
        source=Source.ADMIN,
    )
    assert user.email == "Jane.Doe@acme.example"
    assert user.check_password("a-long-unusual-passphrase")
    [event] = audit("user.created")
    assert event.actor_user == company_admin
    assert event.target_id == str(user.pk)
    assert event.after["email"] == "Jane.Doe@acme.example"
    assert "password" not in event.after


@pytest.mark.parametrize("email", ["JANE@acme.example", "jane@acme.example"])
def test_email_unique_case_insensitively_across_companies(company, other_company, email):
    # The unique indexes decide (no check before the INSERT); either index gives these words.
    UserFactory(company=company, email="jane@acme.example")
    with pytest.raises(
        Conflict, match=re.escape(f"The email {email} is already used by another account")
    ):
        member_services.create_member(
            company=other_company, email=email, actor=SYSTEM, source=Source.CLI
        )
    assert User.objects.count() == 1


def test_taken_email_on_update_is_a_conflict_and_changes_nothing(company):
    UserFactory(company=company, email="jane@acme.example")
    ann = UserFactory(company=company, email="ann@acme.example")
    with pytest.raises(Conflict, match=re.escape("The email JANE@acme.example is already used")):
        member_services.update_member(
            user=ann, changes={"email": "JANE@acme.example"}, actor=SYSTEM, source=Source.CLI
        )
    ann.refresh_from_db()
    assert ann.email == "ann@acme.example"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "x@acme.example", "role": "owner"}, "role"),
        ({"email": "x@acme.example", "password": "123"}, "password"),
        ({"email": "x@acme.example", "title": "t" * 201}, "title"),
    ],
)
def test_create_user_refuses_bad_input(company, kwargs, field):
    with pytest.raises(DomainError) as caught:
        member_services.create_member(company=company, actor=SYSTEM, source=Source.CLI, **kwargs)
    assert caught.value.field == field
    assert not User.objects.exists()


def test_scim_user_name_unique_per_company_case_insensitively(company, other_company):
    member_services.create_member(
        company=company,
        email="a@acme.example",
        scim_user_name="Jane@Acme.example",
        actor=SYSTEM,
        source=Source.SCIM,
    )
    with pytest.raises(Conflict, match="userName"):
        member_services.create_member(
            company=company,
            email="b@acme.example",
            scim_user_name="jane@acme.EXAMPLE",
            actor=SYSTEM,
            source=Source.SCIM,
        )
    # Another company may use the same userName.
    member_services.create_member(
        company=other_company,
        email="c@globex.example",
        scim_user_name="jane@acme.example",
        actor=SYSTEM,
        source=Source.SCIM,
    )


def test_update_user_audits_only_what_changed(member, company_admin):
    member_services.update_member(
        user=member,
        changes={"given_name": "Renamed", "title": member.title},
        actor=company_admin,
        source=Source.ADMIN,
    )
    [event] = audit("user.updated")
    assert event.after == {"given_name": "Renamed"}
    assert event.before["given_name"] != "Renamed"
    member_services.update_member(
        user=member, changes={"given_name": "Renamed"}, actor=company_admin, source=Source.ADMIN
    )
    assert len(audit("user.updated")) == 1  # no change, no event


def test_update_user_to_taken_email_refused(member, company_admin):
    with pytest.raises(Conflict):
        member_services.update_member(
            user=member,
            changes={"email": "ADMIN@acme.example"},
            actor=company_admin,
            source=Source.ADMIN,
        )
    member.refresh_from_db()
    assert member.email == "member@acme.example"


def test_last_company_admin_cannot_be_demoted(company_admin):
    with pytest.raises(DomainError, match="last company admin"):
        services.change_role(
            user=company_admin, role=Role.MEMBER, actor=company_admin, source=Source.ADMIN
        )
    second = CompanyAdminFactory(company=company_admin.company)
    services.change_role(user=company_admin, role=Role.MEMBER, actor=second, source=Source.ADMIN)
    company_admin.refresh_from_db()
    assert company_admin.role == Role.MEMBER
    [event] = audit("user.role_changed")
    assert event.before == {"role": "company_admin"}
    assert event.after == {"role": "member"}


def test_seats_cannot_go_below_use(company, member):
    User.objects.filter(pk=member.pk).update(license_type="talk", status=UserStatus.ACTIVE)
    with pytest.raises(DomainError, match="cannot go below 1"):
        services.set_license_seats(
            company=company, license_type="talk", seats=0, actor=SYSTEM, source=Source.CLI
        )
    services.set_license_seats(
        company=company, license_type="talk", seats=25, actor=SYSTEM, source=Source.CLI
    )
    assert LicenseSeats.objects.get(company=company, license_type="talk").seats == 25
    [event] = audit("license.seats_changed")
    assert event.before == {"license_type": "talk", "seats": 10}
    with pytest.raises(DomainError, match="Unknown license_type"):
        services.set_license_seats(
            company=company, license_type="gold", seats=1, actor=SYSTEM, source=Source.CLI
        )


def test_suspended_user_cannot_sign_in(client, member):
    assert client.login(email="MEMBER@acme.example", password="correct-horse-battery-staple")
    client.logout()
    User.objects.filter(pk=member.pk).update(status=UserStatus.SUSPENDED)
    assert not client.login(email="member@acme.example", password="correct-horse-battery-staple")


def test_audit_events_are_append_only(company):
    event = AuditEvent.objects.create(
        company=company, action="x", actor_kind="system", actor_label="system", source="system"
    )
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
