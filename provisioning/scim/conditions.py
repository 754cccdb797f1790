"""Versions and preconditions (RFC 7644 §3.14, RFC 7232): every resource's ETag, a GET's
If-None-Match and a write's If-Match. Writes compare under the resource's lock (endpoint.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from django.http import HttpRequest

from provisioning.scim.errors import ScimError


def etag(body: dict[str, Any]) -> str:
    """A hash of the representation (all but `meta`): any change to what is shown changes it.
    Sorted: what clients wrote (emails, phone numbers) keeps their key order in a body rendered
    from the object a write holds, but PostgreSQL's jsonb reorders it on a read."""
    content = body.copy()  # a dict's copy, then one key out: faster than filtering each key
    content.pop("meta", None)
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20]
    return f'W/"{digest}"'


def with_version(body: dict[str, Any]) -> dict[str, Any]:
    """The rendered body with its ETag as `meta.version`."""
    body["meta"]["version"] = etag(body)
    return body


def not_modified(request: HttpRequest, version: str) -> bool:
    """Whether a GET's If-None-Match names the current version (RFC 7232 §3.2: compared
    weakly, W/ aside; * names any): the client's copy is current, the answer is 304."""
    wanted = request.headers.get("If-None-Match")
    if not wanted:
        return False
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    return "*" in tags or version.removeprefix("W/") in tags


def check_if_match(request: HttpRequest, body: dict[str, Any]) -> None:
    """A write's If-Match, when sent, must name the version it is about to change: else 412."""
    wanted = request.headers.get("If-Match")
    if wanted and wanted.strip() != "*":
        tags = {t.strip() for t in wanted.split(",")}
        if body["meta"]["version"] not in tags:
            raise ScimError(
                412, "The resource changed since you read it (If-Match did not match its ETag)."
            )
