"""Logging for every process (web, worker, beat, gunicorn's master): one configuration.

`LOG_FORMAT=json` (the Procfile sets it) writes one JSON object per line — timestamp, level,
logger, message, request_id and any `extra=` fields — for a log pipeline to index. The default,
plain text, is for a developer's terminal (`make run`).
"""

from __future__ import annotations

from typing import Any

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(
    *, log_format: str = "plain", level: str = "INFO", log_requests: bool = True
) -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary; used by Django's LOGGING and gunicorn's."""
    if log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            # Field order in the line; extras (method, path, status …) follow.
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,  # ISO 8601, UTC
        }
    else:
        formatter = {"format": PLAIN_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "core.request_context.RequestIdLogFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default configuration gives "django" a console handler of its own (with
            # DEBUG on); its records also reach the root's: every warning would print twice.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            # xmlschema (under pysaml2) announces each schema it loads at INFO on start-up.
            "xmlschema": {"level": "WARNING"},
            "switchboard.request": {"level": level if log_requests else "WARNING"},
            # pysaml2 and djangosaml2 log every refused SAML response at ERROR, xmlsec1's output
            # and tracebacks included (~10 KB, for a POST anyone may send). sso.views logs each
            # refusal in one line with its reason and audits it; LOG_LEVEL=DEBUG shows theirs.
            "saml2": {"level": level if level == "DEBUG" else "CRITICAL"},
            "djangosaml2": {"level": level if level == "DEBUG" else "CRITICAL"},
        },
    }
