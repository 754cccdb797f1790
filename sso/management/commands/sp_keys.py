from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sso import sp_keys


class Command(BaseCommand):
    help = (
        "The deployment's SAML signing key (SAML_SP_KEY_DIR): generate it, roll it over, or show "
        "its certificates. The private key is never printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["generate", "rollover", "show"])
        parser.add_argument(
            "--finish",
            action="store_true",
            help="rollover: the next key starts signing and the old one is removed",
        )

    def handle(self, *args: Any, action: str, finish: bool, **options: Any) -> None:
        name = f"Switchboard SAML SP ({settings.PUBLIC_BASE_URL})"
        if action == "generate":
            if sp_keys.signing_pair() is not None:
                raise CommandError(
                    "A signing key already exists; use `sp_keys rollover` to replace it."
                )
            created = sp_keys.write_pair(sp_keys.SIGNING, name)
            self.stdout.write(f"Signing certificate: {sp_keys.describe(created.cert_file)}")
        elif action == "rollover" and not finish:
            if sp_keys.signing_pair() is None:
                raise CommandError("No signing key yet: run `sp_keys generate` first.")
            if sp_keys.pair(sp_keys.NEXT).exists():
                raise CommandError(
                    "A rollover is already under way: `sp_keys rollover --finish` ends it."
                )
            created = sp_keys.write_pair(sp_keys.NEXT, name)
            self.stdout.write(
                f"Next certificate: {sp_keys.describe(created.cert_file)}\n"
                "The SP metadata now publishes both certificates. Once every identity provider "
                "has the new one, run `sp_keys rollover --finish`."
            )
        elif action == "rollover":
            if not sp_keys.pair(sp_keys.NEXT).exists():
                raise CommandError("No rollover under way: run `sp_keys rollover` first.")
            promoted = sp_keys.promote_next()
            self.stdout.write(f"Signing certificate: {sp_keys.describe(promoted.cert_file)}")
        else:
            shown = False
            for role in (sp_keys.SIGNING, sp_keys.NEXT):
                current = sp_keys.pair(role)
                if current.exists():
                    shown = True
                    self.stdout.write(
                        f"{role}: {sp_keys.describe(current.cert_file)} "
                        f"({current.cert_file}; private key present, not shown)"
                    )
            if not shown:
                self.stdout.write(f"No SP signing key in {sp_keys.key_dir()}.")
