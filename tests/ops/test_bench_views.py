"""`make bench`'s own views, the ceiling (benchmarks/ceiling.py) and stock django-scim2
(benchmarks/stock_scim/), are mounted only by the benchmark's settings: never in production."""

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
def test_the_benchmark_views_are_not_mounted_in_the_product(settings, path):
    assert settings.ROOT_URLCONF == "config.urls"

    with pytest.raises(Resolver404):
        resolve(path)
