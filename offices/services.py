"""Every write to offices, phone numbers and licenses. SCIM, SSO, the admin and commands call these.

Each service takes keyword-only arguments with a required `actor` and `source`, owns its
transaction (nesting inside a caller's is fine: SCIM composes several), audits inside it, and
raises `DomainError` (or `NotFound`/`Conflict`) with a message for people and the `field` at
fault — having changed nothing.

Licenses: a seat of a license type is held by an *active* user whose `license_type` is that
type. A suspended or pending user keeps their `license_type` as the license they will hold
again, but takes no seat; whoever makes them active calls `assign_license` again, which claims
the seat under the seat row's lock (or refuses). `release_license` clears the type.

Numbers: a user holds at most one number, a number at most one user (a one-to-one column). A
licensed active user without a number "needs a number" (offices.selectors.users_needing_number).
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

from django.db import IntegrityError, transaction

from accounts.audit import Actor, record_audit, record_change, snapshot
from accounts.errors import Conflict, DomainError, NotFound
from accounts.models import Company, LicenseSeats, LicenseType, User, UserStatus
from accounts.words import count
from offices.models import AreaCode, Office, PhoneNumber
from offices.phone import ParsedNumber, country_name, country_names, parse_number
from offices.selectors import hold_office, main_office, office_deletion_blockers

OFFICE_FIELDS = ("name", "country", "timezone", "is_main")
MAX_IMPORT_ROWS = 50_000
MAX_REPORTED_ERRORS = 20
# One numbering plan, many countries: an area code of any of them is "North American".
NANP_COUNTRIES = frozenset(
    (
        "US",
        "CA",
        "AG",
        "AI",
        "AS",
        "BB",
        "BM",
        "BS",
        "DM",
        "DO",
        "GD",
        "GU",
        "JM",
        "KN",
        "KY",
        "LC",
        "MP",
        "MS",
        "PR",
        "SX",
        "TC",
        "TT",
        "VC",
        "VG",
        "VI",
    )
)


# --- validation ---


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


MAX_OFFICE_NAME = Office._meta.get_field("name").max_length or 256


def clean_office_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name or len(name) > MAX_OFFICE_NAME:
        raise DomainError(
            f"An office needs a name of 1–{MAX_OFFICE_NAME} characters.", field="name"
        )
    return name


def clean_country(country: str) -> str:
    code = str(country or "").strip().upper()
    if code not in country_names():
        raise DomainError(
            f"'{str(country)[:20]}' is not a country code. Use the two-letter ISO 3166 code, "
            "like US or GB.",
            field="country",
        )
    return code


def clean_timezone(timezone: str) -> str:
    name = str(timezone or "").strip()
    if name not in _timezones():
        raise DomainError(
            f"'{name[:60]}' is not a time zone. Use an IANA name, like America/New_York.",
            field="timezone",
        )
    return name


def clean_license_type(license_type: str) -> str:
    if license_type not in LicenseType.values:
        raise DomainError(
            f"Unknown license type '{str(license_type)[:50]}'. "
            f"Use one of: {', '.join(LicenseType.values)}.",
            field="license_type",
        )
    return license_type


def clean_area_code(area_code: str) -> str:
    code = str(area_code or "").strip()
    if not code.isdigit() or not 1 <= len(code) <= 8 or not code.isascii():
        raise DomainError(
            f"'{code[:20]}' is not an area code: use its digits only, like 415.",
            field="area_code",
        )
    return code


def _same_plan(country: str) -> list[str]:
    return sorted(NANP_COUNTRIES) if country in NANP_COUNTRIES else [country]


# --- lookups other parts call ---


def find_area_code(country: str, code: str) -> AreaCode | None:
    """The area code `code` of `country` (any North American country for NANP), or None."""
    country = str(country or "").strip().upper()
    return (
        AreaCode.objects.filter(country__in=_same_plan(country), code=str(code or "").strip())
        .order_by("country")
        .first()
    )


def get_office_by_name(*, company: Company, name: str) -> Office | None:
    """The company's office called `name`, case-insensitively (SCIM `officeName`, groups)."""
    name = " ".join(str(name or "").split())
    if not name:
        return None
    return Office.objects.filter(company=company, name__lower=name.lower()).first()


# --- helpers ---


def _lock_user(user: User) -> User:
    try:
        locked = (
            User.objects.select_for_update(of=("self",)).select_related("company").get(pk=user.pk)
        )
    except User.DoesNotExist:
        raise NotFound("This user no longer exists.", field="user") from None
    if locked.company_id is None:
        raise DomainError(
            "Platform operators belong to no company: they hold no office, number or license.",
            field="user",
        )
    return locked


def _company_id(user: User) -> int:
    """The company of a user `_lock_user` accepted (platform operators are refused there)."""
    if user.company_id is None:
        raise DomainError("This user belongs to no company.", field="user")
    return user.company_id


def _lock_company(company: Company) -> Company:
    return Company.objects.select_for_update().get(pk=company.pk)


def _lock_office(office: Office, *, no_key: bool = False) -> Office:
    """The office read locked: FOR UPDATE to delete it or change which office is main, FOR NO
    KEY UPDATE (`no_key`) to change its other columns, which does not wait for users moving in
    (`move_user_to_office` holds the office FOR KEY SHARE)."""
    try:
        return Office.objects.select_for_update(no_key=no_key).get(pk=office.pk)
    except Office.DoesNotExist:
        raise NotFound("This office no longer exists.", field="office") from None


def _office_of_company(office: Office, company_id: int | None, company_name: str) -> Office:
    if office.company_id != company_id:
        # Another company's office looks exactly like one that does not exist.
        raise NotFound(f"That office is not one of {company_name}'s offices.", field="office")
    return office


def _ensure_office_name_free(company: Company, name: str, exclude_pk: int | None = None) -> None:
    taken = Office.objects.filter(company=company, name__lower=name.lower())
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise Conflict(f"{company.name} already has an office called '{name}'.", field="name")


def _save_office(office: Office, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            office.save(**kwargs)
    except IntegrityError as error:
        if "office_name_unique_per_company" in str(error):
            raise Conflict(
                f"There is already an office called '{office.name}'.", field="name"
            ) from None
        if "office_external_id_unique_per_company" in str(error):
            raise Conflict(
                f"Another office already has the externalId {office.external_id}.",
                field="external_id",
            ) from None
        raise


def clean_external_id(external_id: str | None) -> str | None:
    """An identity provider's id: kept as sent (case-exact), empty means none."""
    value = (external_id or "").strip() or None
    if value is not None and len(value) > 255:
        raise DomainError("The externalId is longer than 255 characters.", field="external_id")
    return value


# --- offices ---


def create_office(
    *,
    company: Company,
    name: str,
    country: str,
    timezone: str,
    is_main: bool = False,
    external_id: str | None = None,
    actor: Actor,
    source: str,
) -> Office:
    """Create an office. The company's first office is its main office whatever `is_main` says;
    `is_main=True` makes the new office the main one in place of the current main office.

    Raises DomainError for a bad name, country or time zone, Conflict for a taken name.
    """
    name = clean_office_name(name)
    country = clean_country(country)
    timezone = clean_timezone(timezone)
    external_id = clean_external_id(external_id)
    with transaction.atomic():
        company = _lock_company(company)  # serialises main-office changes of the company
        _ensure_office_name_free(company, name)
        current_main = Office.objects.filter(company=company, is_main=True).first()
        if current_main is not None and is_main:
            _demote(current_main, actor=actor, source=source)
        office = Office(
            company=company,
            name=name,
            country=country,
            timezone=timezone,
            is_main=is_main or current_main is None,
            external_id=external_id,
        )
        _save_office(office)
        record_audit(
            actor=actor,
            source=source,
            action="office.created",
            company=company,
            target=office,
            after=snapshot(
                office, (*OFFICE_FIELDS, "external_id") if external_id else OFFICE_FIELDS
            ),
        )
    return office


def _demote(office: Office, *, actor: Actor, source: str) -> None:
    office.is_main = False
    office.save(update_fields=["is_main", "updated_at"])
    record_audit(
        actor=actor,
        source=source,
        action="office.updated",
        company=office.company,
        target=office,
        before={"is_main": True},
        after={"is_main": False},
    )


def update_office(
    *,
    office: Office,
    actor: Actor,
    source: str,
    name: str | None = None,
    country: str | None = None,
    timezone: str | None = None,
) -> Office:
    """Rename an office or change its time zone or country (the country only while the office
    holds no numbers: they belong to their country). Only what differs is written and audited."""
    cleaned_name = clean_office_name(name) if name is not None else None
    cleaned_country = clean_country(country) if country is not None else None
    cleaned_timezone = clean_timezone(timezone) if timezone is not None else None
    with transaction.atomic():
        office = _lock_office(office, no_key=True)
        before = snapshot(office, OFFICE_FIELDS)
        if cleaned_name is not None and cleaned_name != office.name:
            _ensure_office_name_free(office.company, cleaned_name, exclude_pk=office.pk)
            office.name = cleaned_name
        if cleaned_country is not None and cleaned_country != office.country:
            held = office.phone_numbers.count()
            if held:
                raise DomainError(
                    f"{office.name} holds {count(held, 'phone number')} of "
                    f"{country_name(office.country)}. Move them to another office or the "
                    "company reserve before changing its country.",
                    field="country",
                )
            office.country = cleaned_country
        if cleaned_timezone is not None:
            office.timezone = cleaned_timezone
        after = snapshot(office, OFFICE_FIELDS)
        if before == after:
            return office
        _save_office(office)
        record_change(
            actor=actor,
            source=source,
            action="office.updated",
            company=office.company,
            target=office,
            before=before,
            after=after,
        )
    return office


def set_office_external_id(
    *, office: Office, external_id: str | None, actor: Actor, source: str
) -> Office:
    """Record the identity provider's id for the office (None clears it); Conflict when
    another office of the company has it."""
    cleaned = clean_external_id(external_id)
    if cleaned == office.external_id:
        return office  # the common case (a rename, a member change): no query
    with transaction.atomic():
        office = _lock_office(office, no_key=True)
        if cleaned == office.external_id:
            return office
        before = snapshot(office, ("external_id",))
        office.external_id = cleaned
        _save_office(office, update_fields=["external_id", "updated_at"])
        record_change(
            actor=actor,
            source=source,
            action="office.updated",
            company=office.company,
            target=office,
            before=before,
            after=snapshot(office, ("external_id",)),
        )
    return office


def rename_office(*, office: Office, name: str, actor: Actor, source: str) -> Office:
    return update_office(office=office, name=name, actor=actor, source=source)


def set_main_office(*, office: Office, actor: Actor, source: str) -> Office:
    """Make `office` the company's main office (the previous one stops being main)."""
    with transaction.atomic():
        _lock_company(office.company)
        office = _lock_office(office)
        if office.is_main:
            return office
        current = Office.objects.filter(company_id=office.company_id, is_main=True).first()
        if current is not None:
            _demote(current, actor=actor, source=source)
        office.is_main = True
        office.save(update_fields=["is_main", "updated_at"])
        record_audit(
            actor=actor,
            source=source,
            action="office.main_changed",
            company=office.company,
            target=office,
            before={"main_office": current.name if current else None},
            after={"main_office": office.name},
        )
    return office


def delete_office(*, office: Office, actor: Actor, source: str) -> None:
    """Delete an empty office. Refused while users sit in it or numbers belong to it, and for
    the main office while other offices exist (make another one main first)."""
    with transaction.atomic():
        _lock_company(office.company)
        office = _lock_office(office)
        blockers = office_deletion_blockers(office)
        if blockers:
            raise DomainError(" ".join(blockers), field="office")
        record_audit(
            actor=actor,
            source=source,
            action="office.deleted",
            company=office.company,
            target=office,
            before=snapshot(office, OFFICE_FIELDS),
        )
        office.delete()


def close_office(*, office: Office, actor: Actor, source: str) -> None:
    """Delete an office with whatever it holds: its numbers go to the company reserve (a user
    holding one keeps it), then its users move to the main office, each move audited as
    `move_user_to_office` does, then the office is deleted. What an identity provider's group
    delete does: it has no other way to say where the members go, and it retries a refusal
    forever. The main office is refused while other offices exist (make another one main
    first), and while users sit in it (there is nowhere else for them)."""
    with transaction.atomic():
        # The company's row is locked last (by `delete_office`), once the members are moved:
        # a user's write commits its audit rows holding that user, and the rows' reference to
        # the company waits for a lock on it, so holding it while waiting for a user deadlocks.
        office = _lock_office(office)
        main = Office.objects.filter(company_id=office.company_id, is_main=True).first()
        if office.is_main and office.users.exists():
            raise DomainError(
                f"{office.name} is the main office, where everyone removed from another office "
                "sits: it cannot be deleted while people sit in it. Make another office the "
                "main office first (Admin Settings › Offices).",
                field="office",
            )
        if office.is_main or main is None:
            delete_office(office=office, actor=actor, source=source)
            return
        numbers = PhoneNumber.objects.select_for_update().filter(office=office).order_by("pk")
        for number in numbers:
            number.office = None
            number.save(update_fields=["office", "updated_at"])
            record_audit(
                actor=actor,
                source=source,
                action="number.moved",
                company=office.company,
                target=number,
                before={"office": office.name},
                after={"office": None},
            )
        users = User.objects.select_for_update(of=("self",)).filter(office=office).order_by("pk")
        for user in users:
            move_user_to_office(user=user, office=main, actor=actor, source=source)
        delete_office(office=office, actor=actor, source=source)


def move_user_to_office(*, user: User, office: Office, actor: Actor, source: str) -> User:
    """Seat `user` in `office` (of their own company; another company's office is NotFound).

    When the user's number belongs to the old office it goes back to that office's pool and a
    number is taken from the new office, keeping the area code when one is free there. A user
    who needs a number and has none is offered one. Never leaves the caller with an error for
    an empty pool: the user then needs a number.
    """
    with transaction.atomic():
        user = _lock_user(user)
        _office_of_company(office, user.company_id, user.company.name if user.company else "")
        if not hold_office(office.pk):  # and so no concurrent delete_office empties it under us
            raise NotFound("This office no longer exists.", field="office")
        if user.office_id == office.pk:
            return user
        old_office = user.office
        user.office = office
        user.save(update_fields=["office", "updated_at"])
        record_audit(
            actor=actor,
            source=source,
            action="user.office_changed",
            company=user.company,
            target=user,
            before={"office": old_office.name if old_office else None},
            after={"office": office.name},
        )
        current = _number_of(user)
        # The area code the user asked for, when it is one of the new office's country (one of
        # another country is kept for an office there), else that of the number they had.
        asked = (
            find_area_code(office.country, user.preferred_area_code)
            if user.preferred_area_code
            else None
        )
        if current is not None and old_office is not None and current.office_id == old_office.pk:
            area_code = asked or current.area_code
            _release(current, user, actor=actor, source=source)
            _assign_free_number(user, preferred=area_code, actor=actor, source=source)
        elif current is None and _needs_number(user):
            _assign_free_number(user, preferred=asked, actor=actor, source=source)
    return user


# --- licenses ---


def _no_free_seats(license_type: str, used: int, total: int) -> DomainError:
    label = LicenseType(license_type).label
    return DomainError(
        f"No free '{label}' licenses: {used} of {total} in use. "
        "Free a seat by suspending a user who no longer needs it, or ask your account manager "
        "for more seats.",
        field="license_type",
        code="no_free_seats",
    )


def assign_license(*, user: User, license_type: str, actor: Actor, source: str) -> User:
    """Give `user` a license of `license_type`; switching types frees the old seat.

    For an active user the seat is counted under a lock on the company's LicenseSeats row, so
    concurrent assignments never overbook; no free seat raises DomainError (code
    "no_free_seats"). Assigning the type the user already holds changes nothing — but still
    claims the seat, which is how a user made active again gets theirs back. A user who is not
    active only has the type recorded.
    """
    license_type = clean_license_type(license_type)
    with transaction.atomic():
        return assign_license_locked(
            user=_lock_user(user), license_type=license_type, actor=actor, source=source
        )


def assign_license_locked(*, user: User, license_type: str, actor: Actor, source: str) -> User:
    """`assign_license` for a company user the caller holds locked in its open transaction (read
    with select_for_update, or just inserted), its status as stored: no second read and lock of
    the row, no savepoint. A refusal must end the caller's transaction (let the DomainError out
    of its atomic block): it undoes the type written here."""
    license_type = clean_license_type(license_type)
    if user.license_type != license_type:
        before = {"license_type": user.license_type or None}
        user.license_type = license_type
        user.save(update_fields=["license_type", "updated_at"])
        record_audit(
            actor=actor,
            source=source,
            action="license.assigned",
            company=user.company,
            target=user,
            before=before,
            after={"license_type": license_type},
        )
    if user.status == UserStatus.ACTIVE:
        # The user's row now holds the seat: the database counted it into `used` (accounts/
        # seats_used.py). Over the seats bought, this one is refused.
        seats, used = _locked_seats(_company_id(user), license_type)
        if used > seats:
            raise _no_free_seats(license_type, used - 1, seats)
    return user


def _locked_seats(company_id: int, license_type: str) -> tuple[int, int]:
    """Seats of the type the company bought and in use ((0, 0) without a row), its row locked
    until the transaction ends: whoever checks next waits for this transaction's users."""
    row = (
        LicenseSeats.objects.select_for_update()
        .filter(company_id=company_id, license_type=license_type)
        .values_list("seats", "used")
        .first()
    )
    return row if row is not None else (0, 0)


def release_license(*, user: User, actor: Actor, source: str) -> User:
    """Take the user's license away, freeing its seat. No license: nothing changes."""
    with transaction.atomic():
        return release_license_locked(user=_lock_user(user), actor=actor, source=source)


def release_license_locked(*, user: User, actor: Actor, source: str) -> User:
    """`release_license` for a company user the caller holds locked in its open transaction
    (read with select_for_update): no second read and lock of the row, no savepoint."""
    if not user.license_type:
        return user
    before = {"license_type": user.license_type}
    user.license_type = ""
    user.save(update_fields=["license_type", "updated_at"])
    record_audit(
        actor=actor,
        source=source,
        action="license.released",
        company=user.company,
        target=user,
        before=before,
        after={"license_type": None},
    )
    return user


# --- numbers ---


def _needs_number(user: User) -> bool:
    return user.status == UserStatus.ACTIVE and bool(user.license_type)


_HOLDER = PhoneNumber._meta.get_field("assigned_user").remote_field


def remember_number(user: User, number: PhoneNumber | None) -> None:
    """Note on the user the number it holds now (`user.phone_number`), as read or written under
    the user's lock: later steps and the SCIM response use it without a query."""
    _HOLDER.set_cached_value(user, number)


def _number_of(user: User) -> PhoneNumber | None:
    """The user's number, locked. A user read under its lock with its number (select_related
    "phone_number"), or given or released one since, already knows it: every change of a
    number's holder locks the holder first, so it cannot have changed meanwhile."""
    if _HOLDER.is_cached(user):
        return getattr(user, "phone_number", None)
    number = (
        PhoneNumber.objects.select_for_update(of=("self",))
        .select_related("area_code")
        .filter(assigned_user=user)
        .first()
    )
    remember_number(user, number)
    return number


def _give(number: PhoneNumber, user: User, *, actor: Actor, source: str) -> PhoneNumber:
    number.assigned_user = user
    number.save(update_fields=["assigned_user", "updated_at"])
    remember_number(user, number)
    record_audit(
        actor=actor,
        source=source,
        action="number.assigned",
        company=user.company,
        target=number,
        after={"number": number.number, "user": user.email},
    )
    return number


def _release(number: PhoneNumber, user: User, *, actor: Actor, source: str) -> None:
    number.assigned_user = None
    number.save(update_fields=["assigned_user", "updated_at"])
    remember_number(user, None)
    record_audit(
        actor=actor,
        source=source,
        action="number.released",
        company=user.company,
        target=number,
        before={"number": number.number, "user": user.email},
    )


def _claim_free_number(
    user: User, *, preferred: AreaCode | None, preferred_only: bool = False
) -> PhoneNumber | None:
    """Lock and return the first free number, searching in order: the preferred area code in
    the user's office, any number of the office, the company reserve (the preferred area code
    first). With an office, reserve numbers must be of the office's country.

    SKIP LOCKED: concurrent callers each take a different number instead of queueing behind
    (or double-booking) the same one.
    """
    office = user.office
    reserve: dict[str, Any] = {"office": None}
    if office is not None:
        reserve["country"] = office.country
    tiers: list[dict[str, Any]] = []
    if office is not None:
        if preferred is not None:
            tiers.append({"office": office, "area_code": preferred})
        if not preferred_only:
            tiers.append({"office": office})
    if preferred is not None:
        tiers.append({**reserve, "area_code": preferred})
    if not preferred_only:
        tiers.append(reserve)
    free = (
        PhoneNumber.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("area_code")
        .filter(company_id=_company_id(user), assigned_user__isnull=True)
        .order_by("number")
    )
    for tier in tiers:
        number = free.filter(**tier).first()
        if number is not None:
            return number
    return None


def _assign_free_number(
    user: User, *, preferred: AreaCode | None, actor: Actor, source: str
) -> PhoneNumber | None:
    number = _claim_free_number(user, preferred=preferred)
    if number is not None:
        return _give(number, user, actor=actor, source=source)
    remember_number(user, None)
    record_audit(
        actor=actor,
        source=source,
        action="number.none_free",
        company=user.company,
        target=user,
        after={
            "office": user.office.name if user.office else None,
            "area_code": preferred.code if preferred else None,
        },
    )
    return None


def assign_number(
    *, user: User, area_code: str | None = None, actor: Actor, source: str
) -> PhoneNumber | None:
    """Give `user` a free number: from `area_code` in their office, else any number of the
    office, else the company reserve. None when nothing is free: the user then needs a number
    (audited as number.none_free) — never an error for an empty pool.

    A user who has a number keeps it, unless `area_code` names another area code and a number
    there is free (their old one returns to the pool). Raises NotFound for an area code that
    does not exist in the office's country, DomainError for one that is not digits.
    """
    blank = area_code is None or not str(area_code).strip()
    code = None if blank else clean_area_code(str(area_code))
    with transaction.atomic():
        return assign_number_locked(
            user=_lock_user(user), area_code=code, actor=actor, source=source
        )


def assign_number_locked(
    *, user: User, area_code: str | None = None, actor: Actor, source: str
) -> PhoneNumber | None:
    """`assign_number` for a company user the caller holds locked in its open transaction (read
    with select_for_update, or just inserted): no second read and lock of the row, no savepoint.
    A refusal must end the caller's transaction (let the DomainError out of its atomic block)."""
    blank = area_code is None or not str(area_code).strip()
    preferred = None if blank else find_user_area_code(user, str(area_code))
    current = _number_of(user)
    if current is None:
        return _assign_free_number(user, preferred=preferred, actor=actor, source=source)
    if preferred is None or current.area_code_id == preferred.pk:
        return current
    better = _claim_free_number(user, preferred=preferred, preferred_only=True)
    if better is None:
        return current  # keep what they have rather than leave them with nothing
    _release(current, user, actor=actor, source=source)
    return _give(better, user, actor=actor, source=source)


def find_user_area_code(user: User, area_code: str) -> AreaCode:
    """The area code `user`'s numbers come from for `area_code`: in their office's country, else
    the main office's, else (another country's) one the company has numbers in. SCIM discovery
    advertises those with every office, and any pairing is accepted: an area code of another
    country finds no number for the office (numbers are claimed in the office's country), so
    the user gets the office's or the reserve's, or needs one, and keeps the code asked for
    (`preferred_area_code`), used when they move to an office of its country. Raises
    DomainError for a malformed code, NotFound for one that is none of these."""
    code = clean_area_code(area_code)
    office = user.office
    country = office.country if office is not None else _main_country(user)
    found = find_area_code(country, code) if country else _any_area_code(code)
    if found is None:
        found = (
            AreaCode.objects.filter(
                code=code,
                pk__in=PhoneNumber.objects.filter(company_id=_company_id(user)).values("area_code"),
            )
            .order_by("country")
            .first()
        )
    if found is None:
        where = f" in {country_name(country)}" if country else ""
        raise NotFound(f"There is no area code {code}{where}.", field="area_code")
    return found


def _main_country(user: User) -> str | None:
    main = main_office(_company_id(user))
    return main.country if main is not None else None


def _any_area_code(code: str) -> AreaCode | None:
    return AreaCode.objects.filter(code=code).order_by("country").first()


def assign_specific_number(*, user: User, number: str, actor: Actor, source: str) -> PhoneNumber:
    """Give `user` this exact number (a SCIM client writing a `work` number, an admin's choice).

    The number must be valid, one of the company's, and free (or already theirs); the user's
    previous number returns to the pool. Raises DomainError/Conflict (field "number").
    """
    with transaction.atomic():
        return assign_specific_number_locked(
            user=_lock_user(user), number=number, actor=actor, source=source
        )


def is_company_number(user: User, number: str) -> bool:
    """Whether `number` (E.164) is one of the numbers of `user`'s company, held or free."""
    return PhoneNumber.objects.filter(company_id=_company_id(user), number=number).exists()


def assign_specific_number_locked(
    *, user: User, number: str, actor: Actor, source: str
) -> PhoneNumber:
    """`assign_specific_number` for a company user the caller holds locked in its open
    transaction (read with select_for_update): no second read and lock of the row, no savepoint.
    A refusal must end the caller's transaction (let the DomainError out of its atomic block)."""
    parsed = parse_number(number)
    row = (
        PhoneNumber.objects.select_for_update(of=("self",))
        .select_related("area_code")
        .filter(number=parsed.e164, company_id=_company_id(user))
        .first()
    )
    if row is None:
        # The same words whether the number is nobody's or another company's.
        raise DomainError(
            f"{parsed.international} is not one of {user.company}'s numbers. "
            "Add it under Admin Settings › Offices & Numbers first.",
            field="number",
        )
    if row.assigned_user_id == user.pk:
        return row
    if row.assigned_user_id is not None:
        holder = User.objects.get(pk=row.assigned_user_id)
        raise Conflict(
            f"{parsed.international} is assigned to {holder.email}. Release it first.",
            field="number",
        )
    current = _number_of(user)
    if current is not None:
        _release(current, user, actor=actor, source=source)
    return _give(row, user, actor=actor, source=source)


def release_number(*, user: User, actor: Actor, source: str) -> PhoneNumber | None:
    """Return the user's number to its pool (office or reserve); the freed number, or None."""
    with transaction.atomic():
        return release_number_locked(user=_lock_user(user), actor=actor, source=source)


def release_number_locked(*, user: User, actor: Actor, source: str) -> PhoneNumber | None:
    """`release_number` for a company user the caller holds locked in its open transaction (read
    with select_for_update): no second read and lock of the row, no savepoint."""
    current = _number_of(user)
    if current is not None:
        _release(current, user, actor=actor, source=source)
    return current


def reassign_number(
    *, phone_number: PhoneNumber, user: User | None, actor: Actor, source: str
) -> PhoneNumber:
    """Give this number to `user` (their previous number returns to the pool), taking it from
    whoever holds it; `user=None` releases it. The admin's "assigned user" field."""
    with transaction.atomic():
        try:
            row = PhoneNumber.objects.select_for_update().get(pk=phone_number.pk)
        except PhoneNumber.DoesNotExist:
            raise NotFound("This number no longer exists.", field="number") from None
        if user is not None and row.assigned_user_id == user.pk:
            return row
        if row.assigned_user_id is not None:
            _release(row, _lock_user(User(pk=row.assigned_user_id)), actor=actor, source=source)
        if user is None:
            return row
        user = _lock_user(user)
        if user.company_id != row.company_id:
            raise NotFound("That user is not in this number's company.", field="assigned_user")
        current = _number_of(user)
        if current is not None:
            _release(current, user, actor=actor, source=source)
        return _give(row, user, actor=actor, source=source)


def _area_codes_for(parsed: Iterable[ParsedNumber]) -> dict[tuple[str, str], AreaCode]:
    """AreaCode rows for the numbers' area codes, adding any the library knows and we lack (only
    those ask the geocoder for their region's name)."""
    wanted = {(p.country, p.area_code): p for p in parsed if p.area_code}
    if not wanted:
        return {}
    countries = {country for country, _ in wanted}
    codes = {code for _, code in wanted}

    def fetch() -> dict[tuple[str, str], AreaCode]:
        rows = AreaCode.objects.filter(country__in=countries, code__in=codes)
        return {(row.country, row.code): row for row in rows}

    known = fetch()
    missing = [key for key in wanted if key not in known]
    if missing:
        AreaCode.objects.bulk_create(
            [
                AreaCode(country=c, code=code, region=wanted[(c, code)].region_name[:200])
                for c, code in missing
            ],
            ignore_conflicts=True,
        )
        known = fetch()
    return known


def _check_office_country(office: Office | None, parsed: ParsedNumber) -> str | None:
    if office is not None and parsed.country != office.country:
        return (
            f"{parsed.international} is a number of {country_name(parsed.country)}, "
            f"but {office.name} is in {country_name(office.country)}."
        )
    return None


def add_number(
    *, company: Company, number: str, office: Office | None = None, actor: Actor, source: str
) -> PhoneNumber:
    """Add one number to the company: to `office`'s pool, or (None) to the company reserve.

    A national number is read in the office's country. Refused: an invalid number, one of
    another country than the office's, one already owned (by this or any other company).
    """
    if office is not None:
        _office_of_company(office, company.pk, company.name)
    parsed = parse_number(number, default_country=office.country if office else None)
    mismatch = _check_office_country(office, parsed)
    if mismatch:
        raise DomainError(mismatch, field="office")
    with transaction.atomic():
        _raise_if_owned(company, parsed)
        area_code = _area_codes_for([parsed]).get((parsed.country, parsed.area_code))
        try:
            with transaction.atomic():
                row = PhoneNumber.objects.create(
                    number=parsed.e164,
                    company=company,
                    office=office,
                    country=parsed.country,
                    area_code=area_code,
                )
        except IntegrityError:  # lost a race for the same number
            raise Conflict(f"{parsed.international} was just added.", field="number") from None
        record_audit(
            actor=actor,
            source=source,
            action="number.added",
            company=company,
            target=row,
            after={"number": row.number, "office": office.name if office else None},
        )
    return row


def _raise_if_owned(company: Company, parsed: ParsedNumber) -> None:
    owner = PhoneNumber.objects.filter(number=parsed.e164).values_list("company_id", flat=True)
    for company_id in owner:
        where = "your company" if company_id == company.pk else "another company"
        raise Conflict(f"{parsed.international} already belongs to {where}.", field="number")


def set_number_office(
    *, phone_number: PhoneNumber, office: Office | None, actor: Actor, source: str
) -> PhoneNumber:
    """Move a number to another office's pool, or (None) to the company reserve. Its user, if
    any, keeps it."""
    with transaction.atomic():
        row = (
            PhoneNumber.objects.select_for_update()
            .select_related("company")
            .get(pk=phone_number.pk)
        )
        if office is not None:
            _office_of_company(office, row.company_id, row.company.name)
            mismatch = _check_office_country(office, parse_number(row.number))
            if mismatch:
                raise DomainError(mismatch, field="office")
        if row.office_id == (office.pk if office else None):
            return row
        before = {"office": row.office.name if row.office else None}
        row.office = office
        row.save(update_fields=["office", "updated_at"])
        record_audit(
            actor=actor,
            source=source,
            action="number.moved",
            company=row.company,
            target=row,
            before=before,
            after={"office": office.name if office else None},
        )
    return row


def remove_number(*, phone_number: PhoneNumber, actor: Actor, source: str) -> None:
    """Remove a number from the company. Refused while a user holds it."""
    with transaction.atomic():
        row = (
            PhoneNumber.objects.select_for_update()
            .select_related("company")
            .get(pk=phone_number.pk)
        )
        if row.assigned_user_id is not None:
            holder = User.objects.get(pk=row.assigned_user_id)
            raise DomainError(
                f"{row.formatted} is assigned to {holder.email}. Release it first.",
                field="number",
            )
        record_audit(
            actor=actor,
            source=source,
            action="number.removed",
            company=row.company,
            target=row,
            before={"number": row.number, "office": row.office.name if row.office else None},
        )
        row.delete()


class NumberImportError(DomainError):
    """A CSV import refused as a whole; `errors` lists (line number, problem) per bad row."""

    def __init__(self, errors: list[tuple[int, str]], total: int) -> None:
        shown = "; ".join(f"line {line}: {problem}" for line, problem in errors[:5])
        more = f" (and {total - 5} more)" if total > 5 else ""
        super().__init__(
            f"Nothing was imported: {count(total, 'row')} with problems — {shown}{more}.",
            field="csv_file",
            code="invalid_rows",
        )
        self.errors = errors
        self.total = total


def _read_csv_text(csv_file: IO[Any] | str | bytes) -> str:
    data = csv_file if isinstance(csv_file, str | bytes) else csv_file.read()
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError(
                "The file is not UTF-8 text. Save it as CSV (UTF-8) and upload it again.",
                field="csv_file",
            ) from None
    return str(data).removeprefix("\ufeff")


@dataclass
class _RowProblems:
    """The bad rows of an import: every one counted, the first MAX_REPORTED_ERRORS reported."""

    reported: list[tuple[int, str]] = field(default_factory=list)
    count: int = 0

    def add(self, line: int, problem: str) -> None:
        self.count += 1
        if len(self.reported) < MAX_REPORTED_ERRORS:
            self.reported.append((line, problem))


ParsedRow = tuple[int, ParsedNumber, Office | None]  # line, number, office (None: the reserve)


def _read_number_rows(
    text: str, offices: dict[str, Office], problems: _RowProblems
) -> list[ParsedRow]:
    """The CSV's numbers, each checked on its own; a bad row goes to `problems`."""
    rows = csv.reader(io.StringIO(text))
    parsed_rows: list[ParsedRow] = []
    first_line: dict[str, int] = {}
    number_column, office_column = 0, 1
    header_seen = False
    try:
        for cells in rows:
            line = rows.line_num
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue
            lowered = [cell.lower() for cell in cells]
            if not header_seen and not parsed_rows and not problems.count and "number" in lowered:
                header_seen = True
                number_column = lowered.index("number")
                office_column = lowered.index("office") if "office" in lowered else -1
                continue
            if len(parsed_rows) + problems.count >= MAX_IMPORT_ROWS:
                raise DomainError(
                    f"The file has more than {MAX_IMPORT_ROWS:,} numbers. Split it and upload "
                    "the parts one by one.",
                    field="csv_file",
                )
            raw_number = cells[number_column] if number_column < len(cells) else ""
            office_name = cells[office_column] if 0 <= office_column < len(cells) else ""
            try:
                parsed, office = _read_number_row(raw_number, office_name, offices, first_line)
            except DomainError as error:
                problems.add(line, error.message)
                continue
            first_line[parsed.e164] = line
            parsed_rows.append((line, parsed, office))
    except csv.Error as error:
        raise DomainError(
            f"The file is not a readable CSV file: {error}.", field="csv_file"
        ) from None
    return parsed_rows


def _read_number_row(
    raw_number: str, office_name: str, offices: dict[str, Office], first_line: dict[str, int]
) -> tuple[ParsedNumber, Office | None]:
    """One row's number and office; DomainError with the row's problem."""
    office = None
    if office_name:
        office = offices.get(" ".join(office_name.split()).lower())
        if office is None:
            raise DomainError(f"there is no office called '{office_name[:60]}'.")
    parsed = parse_number(raw_number, default_country=office.country if office else None)
    mismatch = _check_office_country(office, parsed)
    if mismatch:
        raise DomainError(mismatch)
    if parsed.e164 in first_line:
        raise DomainError(f"{parsed.international} is already on line {first_line[parsed.e164]}.")
    return parsed, office


def _find_owned_numbers(
    company: Company, parsed_rows: list[ParsedRow], problems: _RowProblems
) -> None:
    """Rows whose number already belongs to a company (this one or another) go to `problems`."""
    owners: dict[str, int] = {}
    numbers = [parsed.e164 for _, parsed, _ in parsed_rows]
    for start in range(0, len(numbers), 5000):
        owners.update(
            PhoneNumber.objects.filter(number__in=numbers[start : start + 5000]).values_list(
                "number", "company_id"
            )
        )
    for line, parsed, _ in parsed_rows:
        if parsed.e164 in owners:
            mine = owners[parsed.e164] == company.pk
            problems.add(
                line,
                f"{parsed.international} already belongs to "
                f"{'your company' if mine else 'another company'}.",
            )


def import_numbers(
    *, company: Company, csv_file: IO[Any] | str | bytes, actor: Actor, source: str
) -> int:
    """Add the numbers of a CSV file to the company; return how many were added.

    Columns: `number` (E.164, or national when an office is given) and an optional `office`
    (the office's name; empty = the company reserve). A header row naming them is optional.
    Every row is checked first; if any is bad, NumberImportError lists each bad row by line
    number and nothing is imported. The good case is a handful of bulk queries.
    """
    offices = {office.name.lower(): office for office in Office.objects.filter(company=company)}
    problems = _RowProblems()
    parsed_rows = _read_number_rows(_read_csv_text(csv_file), offices, problems)

    with transaction.atomic():
        _find_owned_numbers(company, parsed_rows, problems)
        if problems.count:
            raise NumberImportError(sorted(problems.reported), problems.count)
        if not parsed_rows:
            raise DomainError("The file holds no phone numbers.", field="csv_file")

        area_codes = _area_codes_for(parsed for _, parsed, _ in parsed_rows)
        try:
            with transaction.atomic():
                PhoneNumber.objects.bulk_create(
                    [
                        PhoneNumber(
                            number=parsed.e164,
                            company=company,
                            office=office,
                            country=parsed.country,
                            area_code=area_codes.get((parsed.country, parsed.area_code)),
                        )
                        for _, parsed, office in parsed_rows
                    ],
                    batch_size=2000,
                )
        except IntegrityError:
            raise Conflict(
                "Some of these numbers were added by someone else while the file was being "
                "imported. Nothing was imported; upload the file again to see which.",
                field="csv_file",
            ) from None
        per_office = Counter(
            office.name if office else "Company reserve" for _, _, office in parsed_rows
        )
        record_audit(
            actor=actor,
            source=source,
            action="numbers.imported",
            company=company,
            after={"count": len(parsed_rows), "offices": dict(sorted(per_office.items()))},
        )
    return len(parsed_rows)
