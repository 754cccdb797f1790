"""`{% audit_retention_note %}`: how far back the audit log goes, for the Audit log page."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils import formats

from accounts.retention import kept_since

register = template.Library()


@register.simple_tag
def audit_retention_note() -> str:
    since = kept_since()
    if since is None:
        return "The log keeps every event: nothing is deleted."
    return (
        f"The log keeps events for {settings.AUDIT_RETENTION_DAYS} days: it goes back to "
        f"{formats.date_format(since, 'j F Y')}; older events are deleted daily."
    )
