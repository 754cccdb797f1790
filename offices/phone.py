"""Phone-number knowledge, all from the `phonenumbers` library (Google's libphonenumber data):
parsing and E.164 formatting, area codes and their region names (the geocoder, loaded only when
a name is asked for); country names from CLDR (Babel) for the regions phonenumbers knows.

Nothing here touches the database; the services and the reference-data migration build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import phonenumbers
from babel import Locale
from phonenumbers import NumberParseException, PhoneNumberFormat

from accounts.errors import DomainError

NANP_COUNTRY_CODE = 1
# Subscriber parts tried when probing which region an NPA belongs to (555-0100 is fictional).
_PROBE_SUBSCRIBERS = ("5550100", "2345678", "2000000", "3456789", "7654321", "9999999")


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    country: str  # ISO 3166 alpha-2 region of the number ("US", "GB" …)
    area_code: str  # "" for numbers without a geographic area code (toll-free, mobile …)

    @property
    def international(self) -> str:
        return format_international(self.e164)

    @property
    def region_name(self) -> str:
        """Where the area code is, e.g. "California"; "" when unknown. From the geocoder, whose
        data takes ~100 MiB in every process that asks: the services read the names of known
        area codes from the AreaCode table, and ask here only for one it lacks."""
        if not self.area_code:
            return ""
        # The geocoder is slow (it classifies the number again): ask it once per area code.
        key = (self.country, self.area_code)
        name = _REGION_NAMES.get(key)
        if name is None:
            name = _REGION_NAMES[key] = _region_name_of(phonenumbers.parse(self.e164), self.country)
        return name


def parse_number(
    raw: str, *, default_country: str | None = None, field: str = "number"
) -> ParsedNumber:
    """Parse a phone number typed by a person or sent by a client; raise DomainError if invalid.

    Without `default_country` the number must be international (E.164, "+" first); spaces,
    dashes and parentheses are accepted and dropped.
    """
    text = (raw or "").strip()
    shown = text[:40]
    if not text:
        raise DomainError(
            "Enter a phone number in international format, like +14155550100.", field=field
        )
    if len(text) > 40:
        raise DomainError(f"'{shown}…' is too long to be a phone number.", field=field)
    try:
        parsed = phonenumbers.parse(text, default_country if not text.startswith("+") else None)
    except NumberParseException:
        raise DomainError(
            f"'{shown}' is not a phone number. Use international format, like +14155550100.",
            field=field,
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise DomainError(
            f"'{shown}' is not a valid phone number: check the country code and the number of "
            "digits (international format, like +14155550100).",
            field=field,
        )
    country = phonenumbers.region_code_for_number(parsed) or ""
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    return ParsedNumber(e164=e164, country=country, area_code=_area_code_of(parsed))


_REGION_NAMES: dict[tuple[str, str], str] = {}


def _area_code_of(parsed: phonenumbers.PhoneNumber) -> str:
    length = phonenumbers.length_of_geographical_area_code(parsed)
    if length <= 0:
        return ""
    return phonenumbers.national_significant_number(parsed)[:length]


def _region_name_of(parsed: phonenumbers.PhoneNumber, country: str) -> str:
    # The geocoder's data takes ~100 MiB in every process that imports it: imported here, on
    # the first region name asked for, not by every web worker at start.
    from phonenumbers import geocoder
    from phonenumbers.geodata import GEOCODE_DATA

    if parsed.country_code == NANP_COUNTRY_CODE and country not in {"US", "CA"}:
        # The Caribbean NANP members: one area code is the whole country.
        return geocoder.country_name_for_number(parsed, "en")
    if parsed.country_code == NANP_COUNTRY_CODE:
        npa = phonenumbers.national_significant_number(parsed)[:3]
        state = GEOCODE_DATA.get(f"1{npa}", {}).get("en")
        if state:
            return str(state)
    return str(geocoder.description_for_number(parsed, "en"))


def format_international(e164: str) -> str:
    """+14155550100 → "+1 415-555-0100" (for people; the database keeps E.164)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)


def nanp_area_codes() -> list[tuple[str, str, str]]:
    """Every North American area code the library can place: (country, code, region name).

    The NPAs come from the geocoder's prefixes (+1 NPA …); each is probed with a valid sample
    number to learn its country (US, CA, or a Caribbean member) and its region's name.
    """
    from phonenumbers.geodata import GEOCODE_DATA

    npas = sorted({key[1:4] for key in GEOCODE_DATA if key.startswith("1") and len(key) >= 4})
    rows: list[tuple[str, str, str]] = []
    for npa in npas:
        for subscriber in _PROBE_SUBSCRIBERS:
            parsed = phonenumbers.parse(f"+1{npa}{subscriber}", None)
            if phonenumbers.is_valid_number(parsed):
                country = phonenumbers.region_code_for_number(parsed) or ""
                rows.append((country, npa, _region_name_of(parsed, country)[:200]))
                break
    return rows


@cache
def country_names() -> dict[str, str]:
    """ISO 3166 alpha-2 → English name (CLDR's, from Babel: "Isle of Man", "Ascension Island"),
    for every region that has a phone numbering plan (phonenumbers' region data)."""
    territories = Locale("en").territories
    names: dict[str, str] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        name = territories.get(region)
        if not name:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
            code = metadata.country_code if metadata else None
            name = f"{region} (+{code})" if code else region
        names[region] = name
    return dict(sorted(names.items(), key=lambda item: item[1]))


def country_name(code: str) -> str:
    return country_names().get(code, code)
