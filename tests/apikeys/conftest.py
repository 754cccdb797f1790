# The SCIM door's fixtures: tests/apikeys/test_key_cache.py authenticates through it.
from tests.provisioning.conftest import api_key, main_office, scim  # noqa: F401
