from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from core.faults import register_unavailable_response
        from provisioning import admin_views  # noqa: F401  (registers the SCIM Provisioning page)
        from provisioning.scim.errors import scim_error_response

        # SCIM clients retry a 503 and read an RFC 7644 §3.12 body: database outages answer one.
        register_unavailable_response(
            "/scim/v2/", lambda detail: scim_error_response(status=503, detail=detail)
        )
