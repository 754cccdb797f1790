from django.urls import re_path

from provisioning.scim.views import scim_endpoint

urlpatterns = [re_path(r"^scim/v2/?(?P<path>.*)$", scim_endpoint, name="scim")]
