import pytest
from django.core.management import call_command

from accounts.models import AuditEvent, User
from offices.models import Office, PhoneNumber

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_offices_numbers_and_is_idempotent():
    call_command("seed_demo", "--admin-password", "demo-password-123")
    offices = {o.name: o for o in Office.objects.filter(company__slug="acme")}
    assert set(offices) == {"San Francisco", "New York", "London"}
    assert offices["San Francisco"].is_main
    assert offices["San Francisco"].timezone == "America/Los_Angeles"
    assert (offices["London"].country, offices["London"].timezone) == ("GB", "Europe/London")
    codes = {
        name: set(
            PhoneNumber.objects.filter(office=office).values_list("area_code__code", flat=True)
        )
        for name, office in offices.items()
    }
    assert codes == {"San Francisco": {"415"}, "New York": {"212"}, "London": {"20"}}
    assert PhoneNumber.objects.filter(office__isnull=True).exists()  # a company reserve
    admin = User.objects.get(email="admin@acme.example")
    assert admin.office == offices["San Francisco"]
    assert admin.license_type == "talk"
    assert admin.phone_number.area_code.code == "415"

    events = AuditEvent.objects.count()
    numbers = PhoneNumber.objects.count()
    call_command("seed_demo")
    assert AuditEvent.objects.count() == events
    assert PhoneNumber.objects.count() == numbers
    assert Office.objects.count() == 3
