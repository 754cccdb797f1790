from django.apps import AppConfig
from django.http import HttpResponse, JsonResponse


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # drf-spectacular learns how API keys authenticate (the security scheme in the schema).
        from accounts.admin_site import admin_site
        from accounts.tenancy import is_company_admin
        from api import schema  # noqa: F401
        from core.faults import register_unavailable_response

        # A database outage under /api/ answers the API's one error shape.
        register_unavailable_response("/api/", unavailable_response)

        # Admin Settings › My Company › Authentication lists the API's docs beside the keys.
        admin_site.add_link(
            "authentication",
            "REST API documentation",
            "api:docs",
            "Every endpoint of /api/v1/, its parameters and errors; try them with a key.",
            visible=lambda user: is_company_admin(user),
        )


def unavailable_response(detail: str) -> HttpResponse:
    # Imported when answering: api.errors loads DRF, whose settings import this app's parsers.
    from api.errors import error_body

    return JsonResponse(error_body("unavailable", detail), status=503)
