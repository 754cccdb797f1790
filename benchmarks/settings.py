"""`make bench`'s settings: production's (config/settings.py) plus the two views it measures ours
against, the ceiling (benchmarks/ceiling.py) and stock django-scim2 (benchmarks/stock_scim/).
Only the benchmark's gunicorn loads this module, so neither view exists in a deployment."""

from urllib.parse import urlsplit

from config.settings import *  # noqa: F403
from config.settings import PUBLIC_BASE_URL

ROOT_URLCONF = "benchmarks.urls"

# django-scim2's settings, read only by the stock reference (the `bench` dependency group).
SCIM_SERVICE_PROVIDER = {
    "SCHEME": urlsplit(PUBLIC_BASE_URL).scheme,
    "NETLOC": urlsplit(PUBLIC_BASE_URL).netloc,
    "AUTHENTICATION_SCHEMES": [
        {"type": "oauthbearertoken", "name": "API key", "description": "Bearer API key"}
    ],
    "USER_ADAPTER": "benchmarks.stock_scim.adapters.StockSCIMUser",
    "USER_FILTER_PARSER": "benchmarks.stock_scim.filters.StockUserFilterQuery",
    "AUTH_CHECK_MIDDLEWARE": "benchmarks.stock_scim.adapters.APIKeyAuthCheck",
    "GET_EXTRA_MODEL_FILTER_KWARGS_GETTER": (
        "benchmarks.stock_scim.adapters.company_filter_kwargs_getter"
    ),
}
