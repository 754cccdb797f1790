from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "My Company"

    def ready(self) -> None:
        from django.db.models import CharField, EmailField
        from django.db.models.functions import Lower
        from django.db.models.signals import post_migrate

        from accounts import seats_used, user_count

        # The counting triggers, after every migrate (accounts/seats_used.py says why).
        post_migrate.connect(seats_used.install, sender=self)
        post_migrate.connect(user_count.install, sender=self)

        # `email__lower=…` and `scim_user_name__lower=…` match the Lower() unique indexes,
        # where `__iexact` (UPPER() on PostgreSQL) would scan the table.
        CharField.register_lookup(Lower)
        EmailField.register_lookup(Lower)

        from django.db.backends.signals import connection_created

        from accounts.sqlite import unicode_lower

        connection_created.connect(unicode_lower)
