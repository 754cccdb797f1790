from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import Source, SystemActor
from accounts.errors import DomainError
from accounts.management.companies import company_by_slug
from sso import services
from sso.certificates import certificate_info
from sso.saml import sp_acs_url, sp_entity_id


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"Cannot read the {what} file {path}: {error}") from None


class Command(BaseCommand):
    help = (
        "Configure a company's SAML single sign-on from the IdP's details or its metadata file "
        "(operators and automation). Only the options given change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, metavar="SLUG")
        parser.add_argument("--idp-entity-id", metavar="URL")
        parser.add_argument("--idp-sso-url", metavar="URL")
        parser.add_argument("--idp-slo-url", metavar="URL")
        parser.add_argument("--idp-cert-file", metavar="PATH", help="PEM or bare base64")
        parser.add_argument("--idp-cert2-file", metavar="PATH", help="second cert (rollover)")
        parser.add_argument("--metadata-file", "--metadata", metavar="PATH", help="IdP metadata")
        parser.add_argument("--enable", action="store_true", help="turn SSO on")
        parser.add_argument("--disable", action="store_true", help="turn SSO off")
        parser.add_argument("--allow-idp-initiated", action="store_true")
        parser.add_argument("--enforce-sso", action="store_true")
        parser.add_argument("--jit", action="store_true", help="create users just in time")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["company"])
        if options["enable"] and options["disable"]:
            raise CommandError("Use --enable or --disable, not both.")
        fields: dict[str, Any] = {}
        for option, name in (
            ("idp_entity_id", "idp_entity_id"),
            ("idp_sso_url", "idp_sso_url"),
            ("idp_slo_url", "idp_slo_url"),
        ):
            if options[option] is not None:
                fields[name] = options[option]
        if options["idp_cert_file"]:
            fields["idp_certificate"] = _read(options["idp_cert_file"], "certificate")
        if options["idp_cert2_file"]:
            fields["idp_certificate_2"] = _read(options["idp_cert2_file"], "certificate")
        if options["metadata_file"]:
            fields["metadata_xml"] = _read(options["metadata_file"], "metadata")
        if options["enable"] or options["disable"]:
            fields["enabled"] = options["enable"]
        if options["allow_idp_initiated"]:
            fields["allow_idp_initiated"] = True
        if options["enforce_sso"]:
            fields["enforce_sso"] = True
        if options["jit"]:
            fields["jit_provisioning"] = True
        try:
            config = services.configure_saml(
                company=company,
                actor=SystemActor("manage.py configure_saml"),
                source=Source.CLI,
                **fields,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        state = "enabled" if config.enabled else "configured but not enabled (--enable)"
        self.stdout.write(f"SAML SSO for {company.name} is {state}.")
        self.stdout.write(f"  SP SSO URL (ACS): {sp_acs_url(company.slug)}")
        self.stdout.write(f"  SP entity ID:     {sp_entity_id(company.slug)}")
        for pem in config.certificates:
            info = certificate_info(pem)
            self.stdout.write(
                f"  IdP certificate:  {info.subject}, SHA-256 {info.fingerprint_sha256}, "
                f"expires {info.not_after:%Y-%m-%d}"
            )
