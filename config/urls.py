from django.urls import include, path
from django.views.generic import RedirectView

from accounts.admin_site import admin_site

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin_site.urls),
    path("", include("provisioning.urls")),
]
