"""Per-key rate limits, the schema and the docs page, the Admin Settings link."""

import pytest
from rest_framework.test import APIClient

from api.throttling import parse_rate

pytestmark = pytest.mark.django_db


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_do_not(
    company, client_for, settings, monkeypatch
):
    settings.API_RATE_LIMIT = "3/minute"
    # A fixed clock 45 s into a window: no window boundary can fall between the requests.
    monkeypatch.setattr("api.throttling._now", lambda: 1_700_000_025.0)
    busy, calm = client_for(company), client_for(company)
    assert [busy.get("/api/v1/licenses/").status_code for _ in range(3)] == [200, 200, 200]

    limited = busy.get("/api/v1/licenses/")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "15"
    assert limited.json()["error"]["code"] == "rate_limited"
    assert calm.get("/api/v1/licenses/").status_code == 200


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("600/minute", (600, 60)), ("10/s", (10, 1)), ("5/15m", (5, 900)), ("1/hour", (1, 3600))],
)
def test_rates_parse(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["", "ten/minute", "5/fortnight", "0/minute"])
def test_bad_rates_are_refused(rate):
    with pytest.raises((ValueError, KeyError)):
        parse_rate(rate)


def test_schema_and_docs_need_no_key_and_use_local_assets():
    client = APIClient()
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    assert "/api/v1/users/{id}/move_to_office/" in schema.json()["paths"]
    docs = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()


def test_admin_settings_links_the_docs(company_admin_client):
    page = company_admin_client.get("/admin/section/authentication/")
    assert "REST API documentation" in page.content.decode()
    assert "/api/v1/docs/" in page.content.decode()


def test_unknown_api_paths_answer_in_the_error_shape(api):
    response = api.post("/api/v1/nothing/here", {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
