"""The one read on the hot path: a key, its company and the company's provisioning policy, by
prefix, in one indexed query.

Written as a statement built once (core/sql.py) because the ORM's select_related() costs more
to compile than the query costs to run, and so does `Manager.raw()` (it inspects the cursor's
columns on every call). The company has its plain columns (id, name, slug, plan); any other
company field loads on first access. The policy is what
`select_related("company__provisioning_policy")` would load (None when the company has none):
the SCIM door asks it whether a create waits for an approver without another query.

`key_row` reads the row and `key_from_row` makes the models of it, so that apikeys/key_cache.py
can keep the row and give every request instances of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model

from accounts.models import Company
from apikeys.models import APIKey
from approvals.models import ProvisioningPolicy
from core.sql import Selection, column, instance, joined

_KEY_FIELDS: tuple[Field, ...] = tuple(APIKey._meta.concrete_fields)
_COMPANY_FIELDS = tuple(column(Company, name) for name in ("id", "name", "slug", "plan"))
_POLICY_FIELDS = tuple(
    column(ProvisioningPolicy, name)
    for name in ("id", "company", "require_create", "require_update", "require_delete")
)
_COMPANY_AT = len(_KEY_FIELDS)
_POLICY_AT = _COMPANY_AT + len(_COMPANY_FIELDS)
_POLICY_OF_COMPANY = Company.provisioning_policy.related  # the reverse one-to-one's cache


@cache
def _key_sql(using: str) -> tuple[str, Selection]:
    quote = connections[using].ops.quote_name
    selection = Selection(
        using,
        [
            *(("k", field) for field in _KEY_FIELDS),
            *(("c", field) for field in _COMPANY_FIELDS),
            *(("p", field) for field in _POLICY_FIELDS),
        ],
    )
    company_id = quote(column(Company, "id").column)
    sql = (
        f"SELECT {selection.sql} "  # noqa: S608 (names from the models, quoted)
        f"FROM {quote(APIKey._meta.db_table)} k "
        f"JOIN {quote(Company._meta.db_table)} c "
        f"ON c.{company_id} = k.{quote(column(APIKey, 'company').column)} "
        f"LEFT JOIN {quote(ProvisioningPolicy._meta.db_table)} p "
        f"ON p.{quote(column(ProvisioningPolicy, 'company').column)} = c.{company_id} "
        f"WHERE k.{quote(column(APIKey, 'prefix').column)} = %s"
    )
    return sql, selection


@dataclass(frozen=True)
class KeyRow:
    """A key's row as the database sent it (strings, numbers, datetimes: nothing mutable), and
    the database it came from. apikeys/key_cache.py keeps these; `key_from_row` makes models."""

    using: str
    values: tuple[Any, ...]


def key_row(prefix: str) -> KeyRow | None:
    """The row of the key with this prefix, its company and policy; or None."""
    using = router.db_for_read(APIKey)
    sql, _ = _key_sql(using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    return None if row is None else KeyRow(using, tuple(row))


def key_from_row(row: KeyRow) -> APIKey:
    """New instances of the key, its company and the company's policy, from the row."""
    _, selection = _key_sql(row.using)
    values = selection.convert(row.using, row.values)
    key = instance(APIKey, row.using, _KEY_FIELDS, values[:_COMPANY_AT])
    company = instance(Company, row.using, _COMPANY_FIELDS, values[_COMPANY_AT:_POLICY_AT])
    key.company = company
    policy = joined(ProvisioningPolicy, row.using, _POLICY_FIELDS, values[_POLICY_AT:])
    if policy is not None:
        policy.company = company
    _POLICY_OF_COMPANY.set_cached_value(company, policy)
    return key


def key_with_company(prefix: str) -> APIKey | None:
    """The key with this prefix, its company and the company's policy loaded; or None."""
    row = key_row(prefix)
    return None if row is None else key_from_row(row)


# The columns key_row reads, per model: a save that writes none of them changes no row it reads.
READ_COLUMNS: dict[type[Model], frozenset[str]] = {
    model: frozenset(name for field in fields for name in (field.name, field.attname))
    for model, fields in (
        (APIKey, _KEY_FIELDS),
        (Company, _COMPANY_FIELDS),
        (ProvisioningPolicy, _POLICY_FIELDS),
    )
}
