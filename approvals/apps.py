from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "approvals"
    verbose_name = "Pending approvals"

    def ready(self) -> None:
        from approvals import admin_views  # noqa: F401  (registers the SCIM Provisioning page)
