from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "My Company"

    def ready(self) -> None:
        from django.db.models import CharField, EmailField
        from django.db.models.functions import Lower

        # `email__lower=…` and `scim_user_name__lower=…` match the Lower() unique indexes,
        # where `__iexact` (UPPER() on PostgreSQL) would scan the table.
        CharField.register_lookup(Lower)
        EmailField.register_lookup(Lower)
