from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "Authentication"  # the Admin Settings section its page lives in
