import factory

from offices.models import AreaCode, Office, PhoneNumber
from offices.phone import parse_number
from tests.accounts.factories import CompanyFactory
from tests.tenancy import tenant_object


class OfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Office

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Office {n}")
    country = "US"
    timezone = "America/Los_Angeles"
    is_main = False


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    """Pass `number`; country and area code are derived from it as the services do."""

    class Meta:
        model = PhoneNumber

    company = factory.SubFactory(CompanyFactory)
    number = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    office = None

    @factory.lazy_attribute
    def country(self):
        return parse_number(self.number).country

    @factory.lazy_attribute
    def area_code(self):
        parsed = parse_number(self.number)
        return AreaCode.objects.get_or_create(
            country=parsed.country, code=parsed.area_code, defaults={"region": parsed.region_name}
        )[0]


@tenant_object(Office)
def make_office(company):
    return OfficeFactory(company=company, name=f"Secret {company.slug} office")


@tenant_object(PhoneNumber)
def make_number(company):
    # Different per company, so each company's maker yields its own number.
    suffix = 9000 + company.pk % 1000
    return PhoneNumberFactory(company=company, number=f"+1212555{suffix:04d}")
