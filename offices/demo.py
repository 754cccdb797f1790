"""Demo offices and numbers for `manage.py seed_demo` (settings.SEED_DEMO_HOOKS); idempotent."""

from __future__ import annotations

from accounts.audit import Actor, Source
from accounts.models import Company, LicenseType, User
from offices import services
from offices.models import Office, PhoneNumber

# (name, country, time zone, main?, numbers): 555-01xx and Ofcom's 020 7946 0xxx are reserved
# for fiction, so the demo never hands out anybody's real number.
OFFICES = (
    (
        "San Francisco",
        "US",
        "America/Los_Angeles",
        True,
        [f"+1415555{n:04d}" for n in range(100, 120)],
    ),
    ("New York", "US", "America/New_York", False, [f"+1212555{n:04d}" for n in range(100, 115)]),
    ("London", "GB", "Europe/London", False, [f"+4420794600{n:02d}" for n in range(10)]),
)
RESERVE = [f"+1415555{n:04d}" for n in range(190, 195)]


def seed_demo(*, company: Company, actor: Actor) -> None:
    source = Source.CLI
    by_name = {office.name: office for office in Office.objects.filter(company=company)}
    for name, country, timezone, is_main, numbers in OFFICES:
        office = by_name.get(name)
        if office is None:
            office = services.create_office(
                company=company,
                name=name,
                country=country,
                timezone=timezone,
                is_main=is_main,
                actor=actor,
                source=source,
            )
        _add_missing(company, office, numbers, actor)
    _add_missing(company, None, RESERVE, actor)

    admin = User.objects.filter(company=company, email__lower="admin@acme.example").first()
    if admin is not None and admin.office_id is None:
        services.move_user_to_office(
            user=admin,
            office=Office.objects.get(company=company, name="San Francisco"),
            actor=actor,
            source=source,
        )
        services.assign_license(
            user=admin, license_type=LicenseType.TALK, actor=actor, source=source
        )
        services.assign_number(user=admin, area_code="415", actor=actor, source=source)


def _add_missing(company: Company, office: Office | None, numbers: list[str], actor: Actor) -> None:
    existing = set(PhoneNumber.objects.filter(number__in=numbers).values_list("number", flat=True))
    missing = [number for number in numbers if number not in existing]
    if missing:
        office_name = office.name if office else ""
        csv_text = "number,office\n" + "".join(f"{n},{office_name}\n" for n in missing)
        services.import_numbers(company=company, csv_file=csv_text, actor=actor, source=Source.CLI)
