import pytest
from django.test import RequestFactory, override_settings
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apikeys.authentication import APIKeyAuthentication, authenticate_request, client_ip
from apikeys.services import AuthenticationFailed, Throttled
from tests.apikeys.factories import make_api_key

pytestmark = pytest.mark.django_db


def request_with(authorization=None, **meta):
    if authorization is not None:
        meta["HTTP_AUTHORIZATION"] = authorization
    return RequestFactory().get("/scim/v2/Users", **meta)


def test_bearer_key_authenticates(company):
    api_key, raw_key = make_api_key(company)
    assert authenticate_request(request_with(f"Bearer {raw_key}")) == api_key
    # The scheme is case-insensitive (RFC 7235); surrounding spaces are tolerated.
    assert authenticate_request(request_with(f"bearer  {raw_key} ")) == api_key


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token sbk_abc",
        "Bearer " + "a" * 10_240,
        "Bearer sbk_ünïcödé_key",
        "Bearer \x00\x01",
    ],
    ids=[
        "missing",
        "empty",
        "scheme-only",
        "blank-token",
        "basic",
        "token",
        "10kb",
        "non-ascii",
        "control",
    ],
)
def test_malformed_headers_are_plain_failures(company, header):
    make_api_key(company)
    with pytest.raises(AuthenticationFailed):
        authenticate_request(request_with(header))


def test_wrong_scheme_with_a_valid_key_is_refused(company):
    _, raw_key = make_api_key(company)
    with pytest.raises(AuthenticationFailed):
        authenticate_request(request_with(f"Basic {raw_key}"))


def test_client_address_comes_from_the_shared_rule(company):
    # A request straight from the internet: X-Forwarded-For is the client's own words, ignored.
    api_key, raw_key = make_api_key(company)
    direct = request_with(
        f"Bearer {raw_key}", REMOTE_ADDR="198.51.100.50", HTTP_X_FORWARDED_FOR="6.6.6.6"
    )
    authenticate_request(direct)
    api_key.refresh_from_db()
    assert api_key.last_used_ip == "198.51.100.50"


@override_settings(FORWARDED_ALLOW_IPS=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_the_hop_it_appended_is_the_client(settings):
    # The left-most entry is whatever the client sent; our proxy appended the real address.
    request = request_with(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.77")
    assert client_ip(request) == "203.0.113.77"
    for _ in range(settings.API_KEY_FAILURE_LIMIT):
        with pytest.raises(AuthenticationFailed):
            authenticate_request(
                request_with(
                    "Bearer sbk_x", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.77"
                )
            )
    # The block hits that client, not the proxy every other client also comes through.
    with pytest.raises(Throttled):
        authenticate_request(
            request_with(
                "Bearer sbk_x", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.77"
            )
        )
    with pytest.raises(AuthenticationFailed):
        authenticate_request(
            request_with(
                "Bearer sbk_x", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.78"
            )
        )


def test_last_used_ip_is_the_client_address(company):
    api_key, raw_key = make_api_key(company)
    authenticate_request(request_with(f"Bearer {raw_key}", REMOTE_ADDR="203.0.113.40"))
    api_key.refresh_from_db()
    assert api_key.last_used_ip == "203.0.113.40"


class HasScimScope(BasePermission):
    def has_permission(self, request, view):
        return request.auth is not None and request.auth.has_scope("scim")


class WhoAmI(APIView):
    authentication_classes = [APIKeyAuthentication]
    permission_classes = [HasScimScope]

    def get(self, request):
        return Response({"company": request.auth.company.slug, "user": request.user})


def call(authorization=None, ip="198.51.100.7"):
    headers = {"REMOTE_ADDR": ip}
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    response = WhoAmI.as_view()(APIRequestFactory().get("/api/v1/whoami", **headers))
    response.render()
    return response


def test_drf_authentication_puts_the_key_in_request_auth(company):
    _, raw_key = make_api_key(company)
    response = call(f"Bearer {raw_key}")
    assert response.status_code == 200
    assert response.data == {"company": "acme", "user": None}


@pytest.mark.parametrize(
    "header", [None, "Bearer nope", "Bearer " + "x" * 10_240, "Basic Zm9vOmJhcg=="]
)
def test_drf_refusal_is_401_with_bearer_challenge(company, header):
    response = call(header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_drf_throttled_client_gets_429_with_retry_after(company, settings):
    settings.API_KEY_FAILURE_LIMIT = 3
    _, raw_key = make_api_key(company)
    for _ in range(3):
        assert call("Bearer sbk_wrong", ip="192.0.2.66").status_code == 401
    blocked = call("Bearer sbk_wrong", ip="192.0.2.66")
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= settings.API_KEY_BLOCK_SECONDS
    # A valid key is never locked out: not from that client, not from another.
    assert call(f"Bearer {raw_key}", ip="192.0.2.66").status_code == 200
    assert call(f"Bearer {raw_key}", ip="192.0.2.67").status_code == 200


def test_authenticate_request_raises_throttled(company, settings):
    settings.API_KEY_FAILURE_LIMIT = 2
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            authenticate_request(request_with("Bearer sbk_x", REMOTE_ADDR="192.0.2.9"))
    with pytest.raises(Throttled) as throttled:
        authenticate_request(request_with("Bearer sbk_x", REMOTE_ADDR="192.0.2.9"))
    assert throttled.value.retry_after > 0
