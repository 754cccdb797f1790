from django.urls import path
from django.views.generic import RedirectView

from accounts.admin_site import admin_site

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin_site.urls),
]

# A database that went away while middleware ran (a session save) still answers 503.
handler500 = "config.faults.server_error"
