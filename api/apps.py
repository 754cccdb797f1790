from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # drf-spectacular learns how API keys authenticate (the security scheme in the schema).
        from api import schema  # noqa: F401
