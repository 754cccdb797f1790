from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.admin_site import AUTHENTICATION_PATH, admin_site, moved_to
from offices.admin_views import area_codes_view
from provisioning.admin_views import urlpatterns as provisioning_admin_urls
from sso import views as sso_views
from sso.admin import saml_settings_view, saml_test_sign_in_view


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Resolved per request: the manifest of collected static files exists only after collectstatic.
    return HttpResponseRedirect(static("switchboard/favicon.svg"))


urlpatterns = [
    path("", RedirectView.as_view(url="/app/", permanent=False)),
    # Browsers ask for /favicon.ico on pages that name no icon.
    path("favicon.ico", favicon),
    # Admin Settings signs in and out through the same doors as everyone (enforced SSO).
    path("admin/login/", sso_views.admin_login_redirect),
    path("admin/logout/", sso_views.logout_view),
    path(
        f"admin/{AUTHENTICATION_PATH}saml-sso/",
        admin_site.admin_view(saml_settings_view),
        name="sso_settings",
    ),
    path(
        f"admin/{AUTHENTICATION_PATH}saml-sso/test/",
        admin_site.admin_view(saml_test_sign_in_view),
        name="sso_test_sign_in",
    ),
    # Former addresses of the Authentication pages (bookmarks, the README of old).
    path(
        "admin/authentication/saml-sso/",
        moved_to("/admin/authentication/", f"/admin/{AUTHENTICATION_PATH}"),
    ),
    path(
        "admin/scim-provisioning/",
        moved_to("/admin/", f"/admin/{AUTHENTICATION_PATH}"),
    ),
    path(
        "admin/offices/areacode/",
        admin_site.admin_view(area_codes_view),
        name="area_codes",
    ),
    *provisioning_admin_urls,
    path("admin/", admin_site.urls),
    path("sso/", include("sso.urls")),
    path("api/v1/", include("api.urls")),
    path("login/", sso_views.login_view, name="login"),
    path("logout/", sso_views.logout_view, name="logout"),
    path("app/", sso_views.app_home, name="app_home"),
    path("", include("provisioning.urls")),
]

# A database that went away while middleware ran (a session save) still answers 503.
handler500 = "core.faults.server_error"
