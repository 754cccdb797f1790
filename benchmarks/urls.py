"""`make bench`'s URLs: the product's (config/urls.py) with the ceiling and stock django-scim2
mounted beside them (benchmarks/settings.py points ROOT_URLCONF here)."""

from django.urls import include, path

from benchmarks import ceiling
from benchmarks.stock_scim import STOCK_SCIM_PATH
from config.urls import handler500
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/ceiling/Users", ceiling.users),
    path("bench/ceiling/Users/<int:pk>", ceiling.user),
    # Stock django-scim2 on our users, measured beside ours (benchmarks/stock_scim/).
    path(STOCK_SCIM_PATH, include("django_scim.urls")),
    *product_urlpatterns,
]

__all__ = ["handler500", "urlpatterns"]
