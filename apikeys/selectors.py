"""The one read on the hot path: a key, its company and the company's provisioning policy, by
prefix, in one indexed query. The company has its plain columns (id, name, slug, plan); any other
company field loads on first access. The policy comes along (None when the company has none), so
the SCIM door asks it whether a create waits for an approver without another query.

apikeys/key_cache.py keeps what this reads for a minute at most, so the query runs about once a
minute per key and process.
"""

from __future__ import annotations

from django.db.models import Model

from accounts.models import Company
from apikeys.models import APIKey
from approvals.models import ProvisioningPolicy

KEY_FIELDS = tuple(field.name for field in APIKey._meta.concrete_fields)
COMPANY_FIELDS = ("id", "name", "slug", "plan")
POLICY_FIELDS = ("id", "company", "require_create", "require_update", "require_delete")


def key_with_company(prefix: str) -> APIKey | None:
    """The key with this prefix, its company and the company's policy loaded; or None."""
    return (
        APIKey.objects.select_related("company__provisioning_policy")
        .only(
            *KEY_FIELDS,
            *(f"company__{name}" for name in COMPANY_FIELDS),
            *(f"company__provisioning_policy__{name}" for name in POLICY_FIELDS),
        )
        .filter(prefix=prefix)
        .first()
    )


# The fields key_with_company reads, per model: a save that writes none of them changes nothing
# it reads.
READ_FIELDS: dict[type[Model], frozenset[str]] = {
    model: frozenset(
        name
        for field in model._meta.concrete_fields
        if field.name in fields
        for name in (field.name, field.attname)
    )
    for model, fields in (
        (APIKey, KEY_FIELDS),
        (Company, COMPANY_FIELDS),
        (ProvisioningPolicy, POLICY_FIELDS),
    )
}
