from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "Authentication"  # the Admin Settings section its page lives in

    def ready(self) -> None:
        from apikeys import key_cache

        key_cache.connect_signals()
