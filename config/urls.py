from django.urls import include, path
from django.views.generic import RedirectView

from accounts.admin_site import admin_site
from approvals.admin_views import urlpatterns as approvals_admin_urls
from sso import views as sso_views
from sso.admin import saml_settings_view

urlpatterns = [
    path("", RedirectView.as_view(url="/app/", permanent=False)),
    # Admin Settings signs in and out through the same doors as everyone (enforced SSO).
    path("admin/login/", sso_views.admin_login_redirect),
    path("admin/logout/", sso_views.logout_view),
    path(
        "admin/authentication/saml-sso/",
        admin_site.admin_view(saml_settings_view),
        name="sso_settings",
    ),
    *approvals_admin_urls,
    path("admin/", admin_site.urls),
    path("sso/", include("sso.urls")),
    path("api/v1/", include("api.urls")),
    path("login/", sso_views.login_view, name="login"),
    path("logout/", sso_views.logout_view, name="logout"),
    path("app/", sso_views.app_home, name="app_home"),
    path("", include("provisioning.urls")),
]

# A database that went away while middleware ran (a session save) still answers 503.
handler500 = "config.faults.server_error"
