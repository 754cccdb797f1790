import factory
from django.utils import timezone

from accounts.audit import SYSTEM, Source, record_audit
from accounts.models import (
    AuditEvent,
    Company,
    CompanyDomain,
    DomainStatus,
    LicenseSeats,
    Plan,
    Role,
    User,
    VerificationMethod,
)
from tests.tenancy import tenant_object


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")
    plan = Plan.ENTERPRISE

    @factory.post_generation
    def seats(self, create, extracted, **kwargs):
        if create:
            for license_type in ("talk", "contact_center", "sales"):
                LicenseSeats.objects.get_or_create(
                    company=self, license_type=license_type, defaults={"seats": extracted or 0}
                )


class CompanyDomainFactory(factory.django.DjangoModelFactory):
    """A pending claim (routes nothing); `CompanyDomainFactory(verified=True)` makes a domain
    the operator verified, which /login/ routes and other companies cannot provision in."""

    class Meta:
        model = CompanyDomain

    company = factory.SubFactory(CompanyFactory)
    domain = factory.Sequence(lambda n: f"domain{n}.example")

    class Params:
        verified = factory.Trait(
            status=DomainStatus.VERIFIED,
            verified_at=factory.LazyFunction(timezone.now),
            verification_method=VerificationMethod.OPERATOR,
        )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    company = factory.SubFactory(CompanyFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    role = Role.MEMBER
    password = factory.django.Password("correct-horse-battery-staple")


class CompanyAdminFactory(UserFactory):
    role = Role.COMPANY_ADMIN
    is_approver = True


@tenant_object(Company)
def make_company(company):
    return company


@tenant_object(CompanyDomain)
def make_domain(company):
    return CompanyDomainFactory(company=company, domain=f"{company.slug}-secret.example")


@tenant_object(LicenseSeats)
def make_seats(company):
    return LicenseSeats.objects.get(company=company, license_type="sales")


@tenant_object(User)
def make_user(company):
    return UserFactory(company=company, given_name=f"Secret{company.slug}", family_name="Person")


@tenant_object(AuditEvent)
def make_audit_event(company) -> AuditEvent:
    return record_audit(
        actor=SYSTEM, source=Source.SYSTEM, action=f"test.secret_{company.slug}", company=company
    )
