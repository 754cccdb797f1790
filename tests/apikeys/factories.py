from accounts.audit import SYSTEM, Source
from apikeys import key_cache
from apikeys.models import APIKey
from apikeys.services import create_api_key
from tests.tenancy import tenant_object


def make_api_key(company, *, name="OneLogin", actor=SYSTEM, **kwargs) -> tuple[APIKey, str]:
    """A key made the only way keys are made: through the service (so the hash is real)."""
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
