from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api import views
from api.errors import not_found_view


class Router(DefaultRouter):
    include_root_view = False

    def __init__(self) -> None:
        super().__init__()
        # `/api/v1/users` and `/api/v1/users/` alike: scripts are written both ways, and a POST
        # cannot follow a redirect to the slash.
        self.trailing_slash = "/?"


router = Router()
router.register("users", views.UserViewSet, basename="user")
router.register("offices", views.OfficeViewSet, basename="office")
router.register("numbers", views.PhoneNumberViewSet, basename="number")
router.register("licenses", views.LicenseViewSet, basename="license")
router.register("pending_changes", views.PendingChangeViewSet, basename="pending-change")
router.register("audit_events", views.AuditEventViewSet, basename="audit-event")

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script served from this URL (`?script`), not inline: the pages'
    # Content-Security-Policy runs no inline script without a nonce.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
    re_path(r"^.*$", not_found_view),
]
