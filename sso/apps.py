from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "SAML single sign-on"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sso import (
            admin,  # noqa: F401  (adds the SAML SSO page to Admin Settings)
            settings_cache,
        )

        settings_cache.connect_signals()
