import json

import pytest

from tests.apikeys.factories import make_api_key
from tests.offices.factories import OfficeFactory

SCIM = "application/scim+json"


@pytest.fixture
def api_key(company):
    """A real key of `company` with the `scim` scope; `.raw` is the bearer token."""
    key, raw = make_api_key(company, name="OneLogin")
    key.raw = raw
    return key


@pytest.fixture
def main_office(company):
    return OfficeFactory(company=company, name="HQ", is_main=True, country="US")


class ScimClient:
    def __init__(self, client, token):
        self.client = client
        self.token = token

    def _call(self, method, path, body=None, content_type=SCIM, **headers):
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.token}")
        kwargs = {}
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = content_type
        response = getattr(self.client, method)(f"/scim/v2/{path}", **kwargs, **headers)
        response.body = json.loads(response.content) if response.content else None
        return response

    def get(self, path, **headers):
        return self._call("get", path, **headers)

    def post(self, path, body, **kw):
        return self._call("post", path, body, **kw)

    def put(self, path, body, **kw):
        return self._call("put", path, body, **kw)

    def patch(self, path, body, **kw):
        return self._call("patch", path, body, **kw)

    def delete(self, path, **headers):
        return self._call("delete", path, **headers)


@pytest.fixture
def scim(client, api_key, main_office):
    return ScimClient(client, api_key.raw)
