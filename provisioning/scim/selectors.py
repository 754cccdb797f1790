"""The door's reads: a company's users as the rows a User body shows (one query for GET, every
page of /Users and .search, and the answer after a write), the user a write changes (locked, one
query), and the offices Groups are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connections, router
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact

from accounts.models import Company, User, UserCount
from approvals.scim import with_must_queue, with_pending_change_counts
from offices.models import Office, PhoneNumber
from offices.services import remember_number
from provisioning.scim.queries import user_named
from provisioning.scim.rendering import USER_ROW_FIELDS, UserRow

# The columns after the user's own, in UserRow's order: (name, model, its column, the user's
# column that points at it). Scalar subqueries, not joins: each is one index probe per row,
# where the planner would hash-join a whole table (every user of every company, as managers)
# to a page of 100 rows.
_RELATED = (
    ("office_name", Office, "name", "pk", "office_id"),
    ("work_number", PhoneNumber, "number", "assigned_user", "pk"),
    ("manager_given_name", User, "given_name", "pk", "manager_id"),
    ("manager_family_name", User, "family_name", "pk", "manager_id"),
    ("manager_email", User, "email", "pk", "manager_id"),
)


# The users with these columns, built once per process: every statement starts from it, and
# resolving the columns' subqueries again on each took longer than running the page query.
# Without the models' default ordering: each subquery is one row.
_USER_ROWS = with_pending_change_counts(
    User.objects.annotate(
        **{
            name: Subquery(
                model.objects.filter(**{key: OuterRef(points)}).order_by().values(column)[:1]
            )
            for name, model, column, key, points in _RELATED
        }
    )
)


def _rows(where: Any, **after: Any) -> QuerySet[Any]:
    """The users `where` selects as UserRow values (then the annotations `after`, in order), in
    one query."""
    return (
        _USER_ROWS.filter(where)
        .annotate(**after)
        .values_list(
            *USER_ROW_FIELDS, *(name for name, *_ in _RELATED), "pending_change_count", *after
        )
    )


def user_rows_query(company_id: int, ids: Sequence[int]) -> QuerySet[Any]:
    """The statement `user_rows` runs."""
    return _rows(Q(company_id=company_id, pk__in=ids))


def user_rows(company_id: int, ids: Sequence[int]) -> list[UserRow]:
    """The company's users with these ids, in the order of `ids` (ids of other companies and
    of no user are left out)."""
    if not ids:
        return []
    rows = user_rows_query(company_id, ids)
    by_id = {row[0]: UserRow._make(row) for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def _listed(company_id: int, user_name: str | None) -> QuerySet[User]:
    """The users a list holds: the company's, and with `user_name` those a `userName eq` filter
    finds — the SCIM userName, else the sign-in email, both case-insensitively (what the
    filter's Q, queries.USER_FILTERS["username"], selects)."""
    users = User.objects.filter(company_id=company_id)
    if user_name is None:
        return users
    return users.filter(user_named(user_name))


def _size(company_id: int, user_name: str | None) -> Subquery:
    """How many users the list holds. The whole list's size is the count the database keeps
    (accounts/user_count.py): counting the company's users took 14 ms at 100,000 of them, on
    every full page."""
    if user_name is None:
        kept = UserCount.objects.filter(company_id=company_id).values("users")
        return Coalesce(Subquery(kept), Value(0))  # type: ignore[return-value]
    counted = (
        _listed(company_id, user_name)
        .order_by()
        .annotate(group=Value(1))
        .values("group")
        .annotate(size=Count("pk"))
        .values("size")
    )
    return Coalesce(Subquery(counted), Value(0))  # type: ignore[return-value]


def user_page(
    company_id: int,
    offset: int,
    limit: int,
    *,
    after: int | None = None,
    user_name: str | None = None,
) -> tuple[list[UserRow], int | None]:
    """Up to `limit` of the users `_listed` holds by id, skipping `offset` of them or starting
    after the user with id `after` (a keyset start), and how many the list holds: None when the
    page is empty and cannot tell (`user_count` does). One statement: identity providers read
    the whole directory page after page, and ask `userName eq` before every create."""
    found = list(user_page_query(company_id, offset, limit, after=after, user_name=user_name))
    if not found:
        return [], None if after is not None or offset else 0
    return [UserRow._make(row[:-1]) for row in found], found[0][-1]


def user_page_query(
    company_id: int, offset: int, limit: int, *, after: int | None, user_name: str | None
) -> QuerySet[Any]:
    """The statement `user_page` runs: the page's ids first (an index-only scan), then the rows
    of those alone (their subqueries never run for rows skipped), each with the list's size."""
    listed = _listed(company_id, user_name).order_by("pk").values("pk")
    counted = after is not None
    # The first page starts after id 0 (ids are positive), without an OFFSET.
    if counted or offset == 0:
        ids = listed.filter(pk__gt=after or 0)[:limit]
    else:
        ids = listed[offset : offset + limit]
    # Counted only when the page does not tell the size: a full page, or one after a keyset
    # start (users deleted before it would be counted in the offset). The CASE runs the count's
    # subquery only when its branch is taken.
    shown = Window(Count("*"))
    size: Any = _size(company_id, user_name)
    if not counted:
        size = Case(
            When(Exact(shown, limit), then=size),
            default=Value(offset) + shown,
            output_field=IntegerField(),
        )
    return _rows(_in_page(ids), size=size).order_by("pk")


def _in_page(ids: QuerySet[Any]) -> Any:
    """On PostgreSQL `id = ANY(ARRAY(page's ids))`: the rows are then read by index probes, where
    a join or IN could merge the page with a scan of every user's row up to its last id
    (measured at 5,000 users: tests/provisioning/test_scim_performance.py)."""
    if connections[router.db_for_read(User)].vendor != "postgresql":
        return Q(pk__in=ids)
    return Func(
        F("pk"),
        Subquery(ids),
        arg_joiner=" = ANY(ARRAY",
        template="%(expressions)s)",
        output_field=BooleanField(),
    )


def user_count(company_id: int, user_name: str | None = None) -> int:
    """How many users `user_page` lists."""
    if user_name is None:
        kept = UserCount.objects.filter(company_id=company_id).values_list("users", flat=True)
        return kept.first() or 0
    return _listed(company_id, user_name).count()


def user_to_write(company: Company, pk: int, operation: str) -> User | None:
    """The company's user `pk` read with its row locked (in the caller's transaction), or None:
    with its office, manager (name and email), number and its area code joined, and annotated
    with whether `operation` on it waits for an approver (`must_queue`) and how many of its
    changes wait (`pending_change_count`) — in one query."""
    users = (
        User.objects.filter(company=company, pk=pk)
        .select_related("office", "manager", "phone_number__area_code")
        .defer(*_MANAGER_DEFERRED)
        .select_for_update(of=("self",))
    )
    user = with_must_queue(with_pending_change_counts(users), operation).first()
    if user is None:
        return None
    user.company = company
    remember_number(user, cast(PhoneNumber | None, getattr(user, "phone_number", None)))
    return user


# The manager is only shown (its name and email): the rest of its row is left unread.
_MANAGER_DEFERRED = tuple(
    f"manager__{field.name}"
    for field in User._meta.concrete_fields
    if field.name not in {"id", "email", "given_name", "family_name"}
)


def offices(company: Company, *, members: bool) -> QuerySet[Office]:
    """The company's offices (Groups), with their members unless the answer leaves them out."""
    found = Office.objects.filter(company=company)
    if not members:
        return found
    shown = User.objects.order_by("pk").only(
        "pk", "office_id", "email", "display_name", "given_name", "family_name"
    )
    return found.prefetch_related(Prefetch("users", queryset=shown))


def office_to_write(company: Company, pk: int) -> Office | None:
    """The office a Group write changes, locked, its members read after the lock: writes of one
    group take turns, each applying its operations to the members as the one before left them.
    FOR NO KEY UPDATE: users moving in on their own (a user's officeName) do not wait for it
    (offices.selectors.hold_office)."""
    locked = offices(company, members=True).select_for_update(of=("self",), no_key=True)
    return locked.filter(pk=pk).first()
