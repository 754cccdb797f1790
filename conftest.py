import os

import pytest

# Browser tests drive the live server from this process.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttles and caches live in Redis, shared across tests: each test starts clean."""
    from django.core.cache import cache

    cache.clear()
    return
