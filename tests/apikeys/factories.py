from accounts.audit import SYSTEM, Source
from apikeys import key_cache
from apikeys.models import APIKey
from apikeys.services import create_api_key
from tests.tenancy import tenant_object


def make_api_key(company, *, name=None, actor=SYSTEM, **kwargs) -> tuple[APIKey, str]:
    """A key made the only way keys are made: through the service (so the hash is real).

    Without a name: "OneLogin", then "OneLogin 2", … (a company's working keys have unique names).
    """
    if name is None:
        taken = set(APIKey.objects.filter(company=company).values_list("name", flat=True))
        name = next(
            candidate
            for candidate in ("OneLogin", *(f"OneLogin {n}" for n in range(2, 10_000)))
            if candidate not in taken
        )
    return create_api_key(company=company, name=name, actor=actor, source=Source.CLI, **kwargs)


@tenant_object(APIKey)
def make_tenant_api_key(company) -> APIKey:
    return make_api_key(company, name=f"Secret{company.slug} key")[0]


def tampered(raw_key: str) -> str:
    """The key with its last character changed: right prefix, wrong secret."""
    return raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")


def age_cached_keys(seconds: float) -> None:
    """Make the keys this process read (apikeys/key_cache.py) `seconds` older."""
    for entry in key_cache._entries.values():
        entry.loaded_at -= seconds
