import json
from dataclasses import dataclass

import pytest

from provisioning.scim import auth
from provisioning.scim.auth import UNAUTHORIZED_HEADERS
from provisioning.scim.errors import ScimError

SECRET = "sb_test_scim_secret"
SCIM = "application/scim+json"


@dataclass
class FakeKey:
    company: object
    name: str = "OneLogin"

    def has_scope(self, scope):
        return scope == "scim"

    def audit_identity(self):
        return ("api_key", None, f"API key {self.name}")


@pytest.fixture
def api_key(company, monkeypatch):
    """Until apikeys lands: a key of `company` accepted for 'Bearer <SECRET>'."""
    key = FakeKey(company)

    def authenticate(request):
        if request.headers.get("Authorization") != f"Bearer {SECRET}":
            raise ScimError(401, "Send a valid API key.", headers=UNAUTHORIZED_HEADERS)
        return key

    monkeypatch.setattr(auth, "key_for_request", authenticate)
    return key


class ScimClient:
    def __init__(self, client):
        self.client = client

    def _call(self, method, path, body=None, content_type=SCIM, **headers):
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {SECRET}")
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
def scim(client, api_key):
    return ScimClient(client)
