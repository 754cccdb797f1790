from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "approvals"
    verbose_name = "Pending approvals"

    def ready(self) -> None:
        # Registers the tasks in every process, so that the services can send them by name
        # (and run them in-process when there is no broker).
        from approvals import tasks  # noqa: F401
