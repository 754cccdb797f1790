"""The one read on the hot path: a key, its company and the company's provisioning policy, by
prefix, in one indexed query.

Written as a raw query because the ORM's select_related() costs more to compile than the query
costs to run, and so does `Manager.raw()` (it inspects the cursor's columns on every call). The
SQL is built once from the models' own table and column names; every column passes through the
conversions the ORM applies (JSON decoding, SQLite's dates), and the rows become model instances
with `from_db`, as the ORM builds them. The company has its plain columns (id, name, slug, plan);
any other company field loads on first access. The policy is what
`select_related("company__provisioning_policy")` would load (None when the company has none):
the SCIM door asks it whether a create waits for an approver without another query.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model

from accounts.models import Company
from apikeys.models import APIKey
from approvals.models import ProvisioningPolicy

COMPANY_FIELDS = ("id", "name", "slug", "plan")
POLICY_FIELDS = ("id", "company", "require_create", "require_update", "require_delete")

Converter = Callable[[Any, Any, Any], Any]


def _field(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a concrete column")
    return field


_KEY_FIELDS: tuple[Field, ...] = tuple(APIKey._meta.concrete_fields)
_SELECTED: tuple[tuple[str, Field], ...] = (
    *(("k", field) for field in _KEY_FIELDS),
    *(("c", _field(Company, name)) for name in COMPANY_FIELDS),
    *(("p", _field(ProvisioningPolicy, name)) for name in POLICY_FIELDS),
)
_COMPANY_AT = len(_KEY_FIELDS)
_POLICY_AT = _COMPANY_AT + len(COMPANY_FIELDS)


@cache
def _key_sql(alias: str) -> tuple[str, list[tuple[int, list[Converter], Any]]]:
    """The query, and the converters of the columns that have some: (position, converters,
    column expression)."""
    connection = connections[alias]
    quote = connection.ops.quote_name

    def col(model: type[Model], name: str) -> str:
        return quote(_field(model, name).column)

    converters = []
    for position, (table_alias, field) in enumerate(_SELECTED):
        expression = field.get_col(table_alias)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if found:
            converters.append((position, found, expression))
    columns = ", ".join(f"{table_alias}.{quote(field.column)}" for table_alias, field in _SELECTED)
    sql = (
        f"SELECT {columns} "  # noqa: S608 (names from the models, quoted)
        f"FROM {quote(APIKey._meta.db_table)} k "
        f"JOIN {quote(Company._meta.db_table)} c "
        f"ON c.{col(Company, 'id')} = k.{col(APIKey, 'company')} "
        f"LEFT JOIN {quote(ProvisioningPolicy._meta.db_table)} p "
        f"ON p.{col(ProvisioningPolicy, 'company')} = c.{col(Company, 'id')} "
        f"WHERE k.{col(APIKey, 'prefix')} = %s"
    )
    return sql, converters


_POLICY_OF_COMPANY = Company.provisioning_policy.related  # the reverse one-to-one's cache
_COMPANY_OF_POLICY = ProvisioningPolicy._meta.get_field("company")


def key_with_company(prefix: str) -> APIKey | None:
    """The key with this prefix, its company and the company's policy loaded; or None."""
    alias = router.db_for_read(APIKey)
    connection = connections[alias]
    sql, converters = _key_sql(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        fetched = cursor.fetchone()
    if fetched is None:
        return None
    row = list(fetched)
    for position, functions, column in converters:
        for function in functions:
            row[position] = function(row[position], column, connection)
    key = APIKey.from_db(alias, [f.attname for f in _KEY_FIELDS], row[:_COMPANY_AT])
    company = Company.from_db(alias, list(COMPANY_FIELDS), row[_COMPANY_AT:_POLICY_AT])
    key.company = company
    policy = None
    if row[_POLICY_AT] is not None:
        policy = ProvisioningPolicy.from_db(
            alias, [_field(ProvisioningPolicy, n).attname for n in POLICY_FIELDS], row[_POLICY_AT:]
        )
        _COMPANY_OF_POLICY.set_cached_value(policy, company)
    _POLICY_OF_COMPANY.set_cached_value(company, policy)
    return key
