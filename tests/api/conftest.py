import pytest
from rest_framework.test import APIClient

from apikeys.models import Scope
from tests.apikeys.factories import make_api_key

ALL_API_SCOPES = [Scope.API_READ, Scope.API_WRITE, Scope.API_APPROVE]


@pytest.fixture
def api_key_for():
    """api_key_for(company, scopes) → (APIKey, raw key); each call a new, distinctly named key."""

    def make(company, scopes=ALL_API_SCOPES, name=None):
        return make_api_key(company, name=name, scopes=scopes)

    return make


@pytest.fixture
def client_for(api_key_for):
    """client_for(company, scopes) → an APIClient sending that company's new key."""

    def make(company, scopes=ALL_API_SCOPES):
        _key, raw = api_key_for(company, scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.raw_key = raw
        client.api_key = _key
        return client

    return make


@pytest.fixture
def api(company, client_for):
    """A client with a key of `company` holding every API scope."""
    return client_for(company)
