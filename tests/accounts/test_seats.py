"""Seats bought are the operator's: company admins read them (bought, used, free) and are told
whom to ask; the operator sets them in the admin or with `manage.py set_seats`, audited."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts import services
from accounts.audit import SYSTEM, Source
from accounts.errors import DomainError
from accounts.models import AuditEvent, LicenseSeats
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def seats(company, license_type="talk"):
    return LicenseSeats.objects.get(company=company, license_type=license_type)


def seat_events():
    return list(AuditEvent.objects.filter(action="license.seats_changed").order_by("id"))


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("ops@switchboard.example", "pw-ops-123456")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def test_a_company_admin_sees_seats_bought_used_and_free_read_only(company_admin_client, company):
    UserFactory.create_batch(3, company=company, license_type="talk")
    row = seats(company)
    listing = company_admin_client.get(reverse("admin:accounts_licenseseats_changelist"))
    body = listing.content.decode()
    assert listing.status_code == 200
    assert "ask your account manager" in body.lower()
    assert "3 of 10" in body
    assert '<td class="field-free">7</td>' in body

    page = company_admin_client.get(reverse("admin:accounts_licenseseats_change", args=[row.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'name="seats"' not in body  # no input to change
    assert 'name="_save"' not in body
    assert "Ask your account manager for more seats" in body
    assert '<div class="readonly">10</div>' in body  # bought
    assert '<div class="readonly">7</div>' in body  # free


def test_a_company_admin_cannot_change_seats_with_a_crafted_post(company_admin_client, company):
    row = seats(company)
    url = reverse("admin:accounts_licenseseats_change", args=[row.pk])
    response = company_admin_client.post(url, {"seats": "100000", "_save": "Save"})
    assert response.status_code == 403
    assert seats(company).seats == 10
    assert seat_events() == []


def test_the_service_refuses_anyone_but_the_operator(company, company_admin):
    with pytest.raises(DomainError, match="Ask your account manager") as caught:
        services.set_license_seats(
            company=company,
            license_type="talk",
            seats=100000,
            actor=company_admin,
            source=Source.ADMIN,
        )
    assert caught.value.code == "operator_only"
    assert seats(company).seats == 10
    assert seat_events() == []


def test_the_operator_sets_seats_in_the_admin_audited(operator_client, operator, company):
    row = seats(company)
    url = reverse("admin:accounts_licenseseats_change", args=[row.pk])
    listing = operator_client.get(reverse("admin:accounts_licenseseats_changelist"))
    assert 'class="field-company nowrap">Acme</td>' in listing.content.decode()
    page = operator_client.get(url)
    assert 'name="seats"' in page.content.decode()
    assert 'name="company"' not in page.content.decode()  # shown, not changed
    response = operator_client.post(url, {"seats": "25", "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert seats(company).seats == 25
    [event] = seat_events()
    assert (event.actor_user, event.source, event.company) == (operator, Source.ADMIN, company)
    assert (event.before, event.after) == (
        {"license_type": "talk", "seats": 10},
        {"license_type": "talk", "seats": 25},
    )


def test_the_operator_cannot_go_below_the_seats_in_use_in_the_admin(operator_client, company):
    UserFactory.create_batch(2, company=company, license_type="talk")
    url = reverse("admin:accounts_licenseseats_change", args=[seats(company).pk])
    response = operator_client.post(url, {"seats": "1", "_save": "Save"})
    assert response.status_code == 200
    assert "seats cannot go below 2" in response.content.decode()
    assert seats(company).seats == 10
    assert seat_events() == []


def test_set_seats_command_sets_and_audits(company, capsys):
    UserFactory(company=company, license_type="sales")
    call_command("set_seats", "--company", "acme", "--license", "sales", "--seats", "40")
    assert seats(company, "sales").seats == 40
    assert "acme: 40 'Sales' seats, 1 in use, 39 free." in capsys.readouterr().out
    [event] = seat_events()
    assert (event.actor_kind, event.actor_label, event.source) == (
        "system",
        "manage.py set_seats",
        Source.CLI,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--company", "nope", "--license", "talk", "--seats", "5"], "No company with the slug"),
        (["--company", "acme", "--license", "gold", "--seats", "5"], "Unknown license_type 'gold'"),
        (["--company", "acme", "--license", "talk", "--seats", "-1"], "from 0 to 1,000,000"),
        (["--company", "acme", "--license", "talk", "--seats", "1"], "cannot go below 2"),
        (["--company", "acme", "--license", "talk", "--seats", "many"], "invalid int value"),
    ],
)
def test_set_seats_command_errors_are_clear_and_change_nothing(company, args, message):
    UserFactory.create_batch(2, company=company, license_type="talk")
    with pytest.raises(CommandError, match=message):
        call_command("set_seats", *args)
    assert seats(company).seats == 10
    assert seat_events() == []


def test_the_system_actor_may_set_seats(company):
    row = services.set_license_seats(
        company=company, license_type="talk", seats=12, actor=SYSTEM, source=Source.CLI
    )
    assert row.seats == 12
