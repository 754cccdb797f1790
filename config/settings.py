"""Switchboard settings, all from the environment.

The defaults run the quickstart (SQLite file, tasks in-process, console email). With DEBUG off,
the production secrets have no defaults: start-up stops with a message naming what is missing.
"""

import os
import shutil
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from core.log import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name) or default).split(",") if item.strip()]


def required(name: str) -> str:
    value = env(name)
    if value is None:
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is off. See README.md › Production for the variables."
        )
    return value


DEBUG = env_bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", "insecure-development-key-only-for-debug")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
else:
    SECRET_KEY = required("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or required("ALLOWED_HOSTS").split(",")

# Every absolute URL we hand out (SAML entity ids, ACS, SCIM meta.location) is built from this.
PUBLIC_BASE_URL = (env("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's JS/CSS served from our static files, no CDN
    "core",
    "accounts",
    "members",
    "offices",
    "apikeys",
    "djangosaml2",
    "sso",
    "provisioning",
    "approvals",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # every response, early answers (/healthz, 503s) included
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.request_context.RequestIdMiddleware",
    "core.observability.RequestLogMiddleware",  # one log line + metrics per request
    "core.observability.ProbeMiddleware",  # /healthz, /metrics: before Host is validated
    "core.faults.DatabaseUnavailableMiddleware",  # database down: 503 + Retry-After
    "core.database.DatabaseTimeoutsMiddleware",  # statement/lock timeouts, a deadline
    "django.contrib.sessions.middleware.SessionMiddleware",
    # djangosaml2's own session cookie (SameSite=None over HTTPS): it carries outstanding
    # AuthnRequest ids across the IdP's cross-site POST to the ACS.
    "djangosaml2.middleware.SamlSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60") or 60),
        conn_health_checks=True,
    )
}
# How long PostgreSQL may take (core/database.py), in seconds: to connect (libpq's minimum is
# 2); per statement on the server, for requests (SCIM, REST, sign-in), the admin console and
# Celery tasks; to wait for a lock. A request whose server does not answer at all is cut off
# on the client after its statement timeout plus DB_DEADLINE_MARGIN. Then: 503 + Retry-After.
DB_CONNECT_TIMEOUT = max(2, int(env("DB_CONNECT_TIMEOUT", "3") or 3))
DB_STATEMENT_TIMEOUT = float(env("DB_STATEMENT_TIMEOUT", "5") or 5)
DB_CONSOLE_STATEMENT_TIMEOUT = float(env("DB_CONSOLE_STATEMENT_TIMEOUT", "15") or 15)
DB_TASK_STATEMENT_TIMEOUT = float(env("DB_TASK_STATEMENT_TIMEOUT", "60") or 60)
DB_LOCK_TIMEOUT = float(env("DB_LOCK_TIMEOUT", "3") or 3)
DB_DEADLINE_MARGIN = float(env("DB_DEADLINE_MARGIN", "1") or 1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails the request in seconds (503), instead of hanging a worker.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    # Prepared statements: psycopg prepares a statement a connection has run 5 times, so the hot
    # ones are parsed and planned once per connection, not per request (Django turns this off
    # unless asked). It needs server-side binding. Measured in make bench's initial sync:
    # PostgreSQL CPU per user 4.0 → 3.0 ms, sync ÷ ceiling 0.30 → 0.36. Behind PgBouncer in
    # transaction mode it needs PgBouncer 1.21+ (max_prepared_statements);
    # DB_SERVER_SIDE_BINDING=false turns both off.
    server_side_binding = env_bool("DB_SERVER_SIDE_BINDING", True)
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = server_side_binding
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5 if server_side_binding else None
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The quickstart's file: a write transaction takes the write lock when it begins (not at
    # its first write, when SQLite can only fail it with "database is locked"), and waits up to
    # DB_SQLITE_TIMEOUT seconds for it; WAL lets reads go on beside the one writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": int(env("DB_SQLITE_TIMEOUT", "20") or 20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Password sign-in refuses members of companies that enforce SSO (sso/backends.py).
AUTHENTICATION_BACKENDS = ["sso.backends.PasswordPolicyBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# `manage.py seed_demo` calls each with (company=, actor=) to add an app's demo data.
SEED_DEMO_HOOKS = ["offices.demo.seed_demo"]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/app/"
LOGOUT_REDIRECT_URL = "/login/"

# Shared by every web process: throttles and caches must not live in process memory.
REDIS_URL = env("REDIS_URL")
# Redis is optional for serving (core/cache.py): a call waits at most CACHE_CONNECT_TIMEOUT
# seconds to connect and CACHE_SOCKET_TIMEOUT for a reply; after a failure this process fails
# cache calls at once for CACHE_RETRY_SECONDS, and warns once per CACHE_WARNING_INTERVAL for
# each thing it does without the cache (a throttle not kept, a key read from the database).
CACHE_CONNECT_TIMEOUT = float(env("CACHE_CONNECT_TIMEOUT", "0.5") or 0.5)
CACHE_SOCKET_TIMEOUT = float(env("CACHE_SOCKET_TIMEOUT", "1") or 1)
CACHE_RETRY_SECONDS = float(env("CACHE_RETRY_SECONDS", "5") or 5)
CACHE_WARNING_INTERVAL = int(env("CACHE_WARNING_INTERVAL", "60") or 60)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "switchboard"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "switchboard_cache",
        }
    }
# Django's database sessions, written once per sign-in (sso/sessions.py). In the database, not the
# cache: deleting a row ends that session in every web process at once (Enforce SSO), and a Redis
# outage signs nobody out.
SESSION_ENGINE = "sso.sessions"

# API keys (apikeys/throttle.py): a key that authenticates is always served. Bad keys from one
# client address (an IPv6 /64), or wrong secrets for one key prefix from anywhere, past their
# limit within the window, get 429 with Retry-After instead of 401 for API_KEY_BLOCK_SECONDS.
# Counted in the cache above.
API_KEY_FAILURE_LIMIT = int(env("API_KEY_FAILURE_LIMIT", "20") or 20)
API_KEY_PREFIX_FAILURE_LIMIT = int(env("API_KEY_PREFIX_FAILURE_LIMIT", "20") or 20)
API_KEY_FAILURE_WINDOW = int(env("API_KEY_FAILURE_WINDOW", "300") or 300)
API_KEY_BLOCK_SECONDS = int(env("API_KEY_BLOCK_SECONDS", "300") or 300)

# Password sign-in (/login/): failed passwords within the window, per target account (email)
# and per client address (an IPv6 /64), block the password step for LOGIN_BLOCK_SECONDS (429
# with Retry-After; the password is not checked). SSO is never throttled. Counted in the cache.
LOGIN_ACCOUNT_FAILURE_LIMIT = int(env("LOGIN_ACCOUNT_FAILURE_LIMIT", "10") or 10)
LOGIN_ADDRESS_FAILURE_LIMIT = int(env("LOGIN_ADDRESS_FAILURE_LIMIT", "30") or 30)
LOGIN_FAILURE_WINDOW = int(env("LOGIN_FAILURE_WINDOW", "900") or 900)
LOGIN_BLOCK_SECONDS = int(env("LOGIN_BLOCK_SECONDS", "900") or 900)

# SAML ACS: this many refused responses from one client address (an IPv6 /64) within the window
# block its ACS posts for SSO_REFUSAL_BLOCK_SECONDS (429 with Retry-After, pysaml2 not run, one
# audit event per block). 50 in 10 minutes: an office behind one address sees a few refusals an
# hour (stale tabs, back-button replays, expired responses), a flood thousands a minute.
SSO_REFUSAL_LIMIT = int(env("SSO_REFUSAL_LIMIT", "50") or 50)
SSO_REFUSAL_WINDOW = int(env("SSO_REFUSAL_WINDOW", "600") or 600)
SSO_REFUSAL_BLOCK_SECONDS = int(env("SSO_REFUSAL_BLOCK_SECONDS", "600") or 600)

# REST API (/api/v1/): requests per API key, counted in the cache above ("600/minute").
API_RATE_LIMIT = env("API_RATE_LIMIT", "600/minute") or "600/minute"
# DRF defaults for views that set nothing; the API's views set their own (api/base.py).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (BASE_DIR / "api" / "DESCRIPTION.md").read_text(),
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PUBLIC": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.closed_request_bodies",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayRequestDuration": True},
    "ENUM_NAME_OVERRIDES": {
        "UserStatusEnum": "accounts.models.UserStatus",
        "NumberStatusEnum": "offices.models.NumberStatus",
        "LicenseTypeEnum": "accounts.models.LicenseType",
        "PendingChangeStatusEnum": "approvals.models.ChangeStatus",
        "OperationEnum": "approvals.models.Operation",
    },
}

# Celery: with no broker configured the quickstart runs tasks in-process, right away.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A broker that is down at start or goes away is waited for, not fatal; publishing retries
# briefly before the caller sees the error. Tasks retry transient errors with backoff via
# config.celery.TRANSIENT_RETRY.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # keep trying: the supervisor decides, not Celery
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 2,
}
# With acks_late on Redis, an unacknowledged task is redelivered after this long: longer than
# any task runs, so a slow task is not run twice.
# A broker host that does not answer (no refusal) is given up on after 5 s, not the OS's minutes.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 5}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING (JSON in production)
CELERY_WORKER_SEND_TASK_EVENTS = False
# Approver digests: at most one mail per company's approvers per interval.
APPROVAL_DIGEST_INTERVAL_MINUTES = int(env("APPROVAL_DIGEST_INTERVAL_MINUTES", "15") or 15)
CELERY_BEAT_SCHEDULE = {
    # Seen SAML assertion ids are only needed until they expire.
    "sso-purge-seen-assertions": {"task": "sso.purge_seen_assertions", "schedule": 3600.0},
    # Re-enqueues approved changes left unapplied past the apply task's time limit (a message
    # lost with a broker); expires stale pending ones. A worker's start does the first part at
    # once (config.celery.RecoverUnappliedChanges).
    "sweep-pending-changes": {
        "task": "approvals.tasks.sweep_pending_changes",
        "schedule": 60.0,
    },
    # Audit events older than AUDIT_RETENTION_DAYS are deleted (accounts/retention.py).
    "apply-audit-retention": {"task": "accounts.tasks.apply_audit_retention", "schedule": 86400.0},
    "send-approval-digests": {
        "task": "approvals.tasks.send_approval_digests",
        "schedule": APPROVAL_DIGEST_INTERVAL_MINUTES * 60.0,
    },
    # Domain claims due a DNS look-up: new pending ones hourly, the others daily (accounts.domains).
    "check-domains": {"task": "accounts.check_domains", "schedule": 3600.0},
}

# The audit log keeps events this many days (0: for ever); older ones are deleted daily, first
# appended to a file in AUDIT_EXPORT_DIR when it is set (AUDIT_EXPORT_FORMAT csv or json).
AUDIT_RETENTION_DAYS = int(env("AUDIT_RETENTION_DAYS", "400") or 400)
AUDIT_EXPORT_DIR = env("AUDIT_EXPORT_DIR")
AUDIT_EXPORT_FORMAT = (env("AUDIT_EXPORT_FORMAT") or "csv").lower()
if AUDIT_EXPORT_FORMAT not in {"csv", "json"}:
    raise ImproperlyConfigured(
        f"AUDIT_EXPORT_FORMAT must be csv or json, not {AUDIT_EXPORT_FORMAT!r}."
    )

# Domain verification (accounts.domains): the DNS servers asked for the TXT records (empty: the
# system's resolvers), their port, how long one look-up may take, and how long a verified
# domain's record may be missing before the verification is lost.
DOMAIN_DNS_NAMESERVERS = env_list("DOMAIN_DNS_NAMESERVERS")
DOMAIN_DNS_PORT = int(env("DOMAIN_DNS_PORT", "53") or 53)
DOMAIN_DNS_TIMEOUT = float(env("DOMAIN_DNS_TIMEOUT", "5") or 5)
DOMAIN_VERIFICATION_GRACE_DAYS = int(env("DOMAIN_VERIFICATION_GRACE_DAYS", "7") or 7)

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Switchboard <no-reply@switchboard.invalid>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date format in Admin Settings (config/formats/en/formats.py), not "Dec. 7, 2026, 5 p.m.".
FORMAT_MODULE_PATH = "config.formats"

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# SAML (djangosaml2 + pysaml2): each company's SP is built from the database (sso/saml.py).
SAML_CONFIG_LOADER = "sso.saml.config_loader"
SAML_SESSION_COOKIE_NAME = "saml_session"
# Cross-site POSTs from the IdP carry the SAML session only with SameSite=None, which browsers
# accept only on Secure cookies; plain-HTTP development falls back to Lax.
SAML_SESSION_COOKIE_SAMESITE = "None" if not DEBUG else "Lax"
SAML_DJANGO_USER_MAIN_ATTRIBUTE = "email"
SAML_USE_NAME_ID_AS_USERNAME = True
SAML_CREATE_UNKNOWN_USER = False  # just-in-time creation is the company's choice (sso.services)
SAML_DEFAULT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
SAML_IGNORE_AUTHENTICATED_USERS_ON_LOGIN = True
SAML_ALLOWED_HOSTS: list[str] = []  # RelayState/next: relative paths only
SAML_CSP_HANDLER = ""
ACS_DEFAULT_REDIRECT_URL = "/app/"
# XML signatures are verified in process with libxmlsec1 (sso/xmlsec_backend.py). "xmlsec1"
# runs the xmlsec1 program per signature instead, as pysaml2 does by default: kept so that
# `make bench` can measure both; SAML_XMLSEC1_BINARY is that program.
SAML_CRYPTO_BACKEND = env("SAML_CRYPTO_BACKEND", "inprocess")
if SAML_CRYPTO_BACKEND not in ("inprocess", "xmlsec1"):
    raise ImproperlyConfigured("SAML_CRYPTO_BACKEND must be 'inprocess' or 'xmlsec1'.")
SAML_XMLSEC1_BINARY = env("SAML_XMLSEC1_BINARY", shutil.which("xmlsec1") or "/usr/bin/xmlsec1")
# The deployment's SAML signing key and certificate (`manage.py sp_keys`, sso/sp_keys.py): they
# sign AuthnRequests and LogoutRequests for companies that turn on "Sign requests".
SAML_SP_KEY_DIR = env("SAML_SP_KEY_DIR", str(BASE_DIR / "var" / "sp-keys"))
# Time bounds on a signed assertion, in seconds. An IssueInstant further in the future than the
# clock skew, an assertion issued longer than SAML_MAX_AGE ago (OneLogin, Okta and Entra post
# within seconds), or a validity (NotOnOrAfter) longer than SAML_MAX_VALIDITY after its
# IssueInstant is refused; the replay store then keeps an id at most that long.
SAML_CLOCK_SKEW = int(env("SAML_CLOCK_SKEW", "180") or 180)
SAML_MAX_AGE = int(env("SAML_MAX_AGE", "600") or 600)
SAML_MAX_VALIDITY = int(env("SAML_MAX_VALIDITY", "86400") or 86400)

DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # 1 MB: larger SCIM or SAML bodies are refused

# Behind a TLS-terminating proxy (the production topology); none of this applies in DEBUG.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# Off only for `make serve`, which runs the production topology on plain http://localhost.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 0 if DEBUG else int(env("SECURE_HSTS_SECONDS", "31536000") or 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp; README › Content-Security-Policy).
# Scripts only from our own origin or inline with this response's nonce
# (`nonce="{{ request.csp_nonce }}"`); styles may be inline (the admin's and Swagger UI's style
# attributes, Django's own <style>), but every url() they name is ours (img-src, font-src).
# No form-action: /login/ posts to us, and Chromium applies form-action to the redirect that
# follows, which goes to the company's identity provider.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS") or [PUBLIC_BASE_URL]

# Proxies whose X-Forwarded-For hops are believed (the variable gunicorn reads too).
FORWARDED_ALLOW_IPS = env_list("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# /metrics: with a token, `Authorization: Bearer <token>` from anywhere; without, loopback only.
METRICS_TOKEN = env("METRICS_TOKEN")

# Plain text for a terminal; LOG_FORMAT=json (the Procfile) for one JSON object per line.
LOG_FORMAT = (env("LOG_FORMAT") or "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
# One line per request (logger "switchboard.request"); runserver prints its own under DEBUG.
LOG_REQUESTS = env_bool("LOG_REQUESTS", default=not DEBUG)
LOGGING = logging_config(
    log_format=LOG_FORMAT, level=env("LOG_LEVEL", "INFO") or "INFO", log_requests=LOG_REQUESTS
)
