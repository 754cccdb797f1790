import time

import pytest

from accounts.audit import SYSTEM, Source
from accounts.errors import Conflict, DomainError
from accounts.models import AuditEvent
from offices import services
from offices.models import AreaCode, PhoneNumber
from offices.services import NumberImportError
from tests.offices.factories import OfficeFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db

ACT = {"actor": SYSTEM, "source": Source.ADMIN}


@pytest.fixture
def offices(company):
    return (
        OfficeFactory(company=company, name="San Francisco", is_main=True),
        OfficeFactory(company=company, name="London", country="GB", timezone="Europe/London"),
    )


def test_import_numbers_with_header_offices_and_reserve(company, offices):
    sf, london = offices
    csv_text = (
        "Office,Number\n"
        "san francisco,+1 (415) 555-0100\n"
        "\n"
        "London,020 7946 0001\n"  # national format, read in the office's country
        ",+12125550100\n"  # no office: the company reserve
    )
    assert services.import_numbers(company=company, csv_file=csv_text.encode(), **ACT) == 3
    rows = {row.number: row for row in PhoneNumber.objects.filter(company=company)}
    assert rows["+14155550100"].office == sf
    assert rows["+14155550100"].area_code.code == "415"
    assert rows["+442079460001"].office == london
    assert rows["+442079460001"].area_code == AreaCode.objects.get(country="GB", code="20")
    assert rows["+12125550100"].office is None
    event = AuditEvent.objects.get(action="numbers.imported")
    assert event.after == {
        "count": 3,
        "offices": {"Company reserve": 1, "London": 1, "San Francisco": 1},
    }


def test_import_without_header(company, offices):
    assert (
        services.import_numbers(
            company=company, csv_file="+14155550100\n+14155550101,San Francisco\n", **ACT
        )
        == 2
    )


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(company, other_company, offices):
    PhoneNumberFactory(company=other_company, number="+14155550199")
    PhoneNumberFactory(company=company, number="+14155550198")
    csv_text = (
        "number,office\n"  # line 1
        "+14155550100,San Francisco\n"  # 2: fine
        "not-a-number,\n"  # 3
        "+14155550100,\n"  # 4: repeated
        "+14155550101,Paris\n"  # 5: no such office
        "+14155550102,London\n"  # 6: US number in a GB office
        "+14155550199,\n"  # 7: another company's
        "+14155550198,\n"  # 8: already ours
        "+1415555,\n"  # 9: too short
    )
    with pytest.raises(NumberImportError) as caught:
        services.import_numbers(company=company, csv_file=csv_text, **ACT)
    lines = dict(caught.value.errors)
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9]
    assert "is not a phone number" in lines[3]
    assert "already on line 2" in lines[4]
    assert "no office called 'Paris'" in lines[5]
    assert "is a number of United States, but London is in United Kingdom" in lines[6]
    assert "already belongs to another company" in lines[7]
    assert "already belongs to your company" in lines[8]
    assert "not a valid phone number" in lines[9]
    assert caught.value.message.startswith("Nothing was imported: 7 rows with problems — line 3:")
    assert caught.value.field == "csv_file"
    assert PhoneNumber.objects.filter(company=company).count() == 1
    assert not AuditEvent.objects.filter(action="numbers.imported").exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"number\n", "holds no phone numbers"),
        (b"", "holds no phone numbers"),
    ],
)
def test_unreadable_or_empty_files_are_refused(company, content, words):
    with pytest.raises(DomainError, match=words):
        services.import_numbers(company=company, csv_file=content, **ACT)
    assert not PhoneNumber.objects.exists()


def test_a_failed_bulk_insert_changes_nothing(company, offices, monkeypatch):
    # Someone else adds one of the numbers between our check and our insert.
    original = PhoneNumber.objects.bulk_create

    def racing_bulk_create(objs, **kwargs):
        PhoneNumberFactory(company=company, number=objs[-1].number)
        return original(objs, **kwargs)

    monkeypatch.setattr(PhoneNumber.objects, "bulk_create", racing_bulk_create)
    with pytest.raises(Conflict, match="Nothing was imported"):
        services.import_numbers(company=company, csv_file="+14155550100\n+14155550101\n", **ACT)
    assert not PhoneNumber.objects.filter(number="+14155550100").exists()


def test_import_of_10000_numbers_uses_bulk_writes(company, offices, django_assert_max_num_queries):
    sf, _ = offices
    numbers = [f"+1415200{n:04d}" for n in range(10_000)]
    csv_text = "number,office\n" + "".join(f"{number},San Francisco\n" for number in numbers)
    started = time.perf_counter()
    # A fixed handful of queries whatever the size: reads in chunks, inserts in batches.
    with django_assert_max_num_queries(20):
        count = services.import_numbers(company=company, csv_file=csv_text.encode(), **ACT)
    elapsed = time.perf_counter() - started
    print(f"\nimported 10,000 numbers in {elapsed:.2f}s")  # reported, not asserted: no timed tests
    assert count == 10_000
    assert PhoneNumber.objects.filter(company=company, office=sf).count() == 10_000
    assert PhoneNumber.objects.filter(area_code__code="415").count() == 10_000
