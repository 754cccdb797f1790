from django.urls import include, path
from django.views.generic import RedirectView

from accounts.admin_site import admin_site
from approvals.admin_views import urlpatterns as approvals_admin_urls

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    *approvals_admin_urls,
    path("admin/", admin_site.urls),
    path("", include("provisioning.urls")),
]

# A database that went away while middleware ran (a session save) still answers 503.
handler500 = "config.faults.server_error"
