"""The read every SSO door starts with: the company of /sso/<slug>/ and its SAML settings, in one
indexed query.

Written as a statement built once (core/sql.py), as apikeys/selectors.py is: the ORM's
`select_related("saml_config")` took 1.4 ms of Python to compile for a 0.1 ms query, on every
sign-in. The company and its settings are complete rows, what that select_related would load
(the settings None when none are saved), so `sso.services.saml_config_for(company)` answers
without another query.
"""

from __future__ import annotations

from functools import cache

from django.db import connections, router
from django.db.models import Field

from accounts.models import Company
from core.sql import Selection, column, instance, joined
from sso.models import SAMLConfig

_COMPANY_FIELDS: tuple[Field, ...] = tuple(Company._meta.concrete_fields)
_CONFIG_FIELDS: tuple[Field, ...] = tuple(SAMLConfig._meta.concrete_fields)
_CONFIG_AT = len(_COMPANY_FIELDS)
_CONFIG_OF_COMPANY = Company.saml_config.related  # the reverse one-to-one's cache


@cache
def _company_sql(using: str) -> tuple[str, Selection]:
    quote = connections[using].ops.quote_name
    company_id = quote(column(Company, "id").column)
    selection = Selection(
        using,
        [*(("c", field) for field in _COMPANY_FIELDS), *(("s", field) for field in _CONFIG_FIELDS)],
    )
    sql = (
        f"SELECT {selection.sql} "  # noqa: S608 (names from the models, quoted)
        f"FROM {quote(Company._meta.db_table)} c "
        f"LEFT JOIN {quote(SAMLConfig._meta.db_table)} s "
        f"ON s.{quote(column(SAMLConfig, 'company').column)} = c.{company_id} "
        f"WHERE c.{quote(column(Company, 'slug').column)} = %s"
    )
    return sql, selection


def company_with_saml_config(slug: str) -> Company | None:
    """The company with this slug, its SAML settings loaded (`company.saml_config`); or None."""
    using = router.db_for_read(Company)
    sql, selection = _company_sql(using)
    values = selection.fetch_one(using, sql, [slug])
    if values is None:
        return None
    company = instance(Company, using, _COMPANY_FIELDS, values[:_CONFIG_AT])
    config = joined(SAMLConfig, using, _CONFIG_FIELDS, values[_CONFIG_AT:])
    if config is not None:
        config.company = company
    _CONFIG_OF_COMPANY.set_cached_value(company, config)
    return company
