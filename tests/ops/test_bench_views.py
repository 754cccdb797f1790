"""`make bench`'s own views, the ceiling (config/bench_ceiling.py) and stock django-scim2
(config/bench_stock_scim/), are mounted only with BENCH_CEILING=true: never in production."""

import pytest
from django.urls import Resolver404, resolve


@pytest.mark.parametrize(
    "path",
    [
        "/bench/ceiling/Users",
        "/bench/ceiling/Users/1",
        "/bench/stock/scim/v2/",
        "/bench/stock/scim/v2/Users",
        "/bench/stock/scim/v2/Users/1",
    ],
)
def test_the_benchmark_views_are_not_mounted_without_bench_ceiling(settings, path):
    assert settings.BENCH_CEILING is False

    with pytest.raises(Resolver404):
        resolve(path)
