"""The test run: production settings, plus what only a test needs."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
if not os.environ.get("DATABASE_URL"):
    raise RuntimeError(
        "Tests run on PostgreSQL: use `make test` (it starts a throwaway server) "
        "or set DATABASE_URL."
    )

from config.settings import *  # noqa: F403

# Browser tests talk plain HTTP to the live server.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Hashing strength is not what the tests measure.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Plain-HTTP test servers cannot set SameSite=None cookies (browsers require Secure).
SAML_SESSION_COOKIE_SAMESITE = "Lax"
