import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, Company, LicenseSeats, User

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo", "--admin-password", "demo-password-123")
    first = capsys.readouterr().out
    assert "admin@acme.example" in first
    assert "demo-password-123" in first
    events = AuditEvent.objects.count()
    call_command("seed_demo")
    assert Company.objects.filter(slug="acme").count() == 1
    assert User.objects.filter(email="admin@acme.example").count() == 1
    assert AuditEvent.objects.count() == events
    company = Company.objects.get(slug="acme")
    assert company.is_enterprise
    domain = company.domains.get()
    assert domain.domain == "acme.example"
    # Verified by the operator's override, so /login/ routes the demo's people offline.
    assert domain.status == "verified"
    assert domain.verification_method == "operator"
    assert AuditEvent.objects.get(action="company.domain_verified").source == "cli"
    assert LicenseSeats.objects.get(company=company, license_type="talk").seats == 50
    assert User.objects.get(email="admin@acme.example").check_password("demo-password-123")


def test_create_company_command():
    call_command(
        "create_company",
        "--name",
        "Initech",
        "--slug",
        "initech",
        "--domain",
        "initech.example",
        "--plan",
        "pro",
    )
    company = Company.objects.get(slug="initech")
    assert company.plan == "pro"
    with pytest.raises(CommandError, match="taken"):
        call_command("create_company", "--name", "Again", "--slug", "initech")


def test_production_settings_refuse_to_start_without_secrets():
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_check_deploy_is_clean_with_production_variables():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "production-like-secret-with-enough-entropy-0123456789",
        "ALLOWED_HOSTS": "switchboard.example.com",
        "PUBLIC_BASE_URL": "https://switchboard.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
