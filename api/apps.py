from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # drf-spectacular learns how API keys authenticate (the security scheme in the schema).
        from accounts.admin_site import admin_site
        from accounts.tenancy import is_company_admin
        from api import schema  # noqa: F401

        # Admin Settings › My Company › Authentication lists the API's docs beside the keys.
        admin_site.add_link(
            "authentication",
            "REST API documentation",
            "api:docs",
            "Every endpoint of /api/v1/, its parameters and errors; try them with a key.",
            visible=lambda user: is_company_admin(user),
        )
