from django.urls import path, re_path

from provisioning.scim.discovery import documentation_view
from provisioning.scim.views import scim_endpoint

urlpatterns = [
    path("scim/", documentation_view, name="scim_documentation"),
    re_path(r"^scim/v2/?(?P<path>.*)$", scim_endpoint, name="scim"),
]
