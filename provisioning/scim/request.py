"""What a SCIM request carries: who asks (`Context`: the API key and its company), its JSON body
within the limits, its query or search parameters."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from accounts.models import Company
from apikeys.models import APIKey
from core import strict_json
from provisioning.scim import schema as s
from provisioning.scim.errors import SCIM_CONTENT_TYPE, ScimError, invalid_syntax, invalid_value

MAX_BODY = 1024 * 1024


def base_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/scim/v2"


class Context:
    """An authenticated request: every handler reads the company from here, never from input."""

    def __init__(self, request: HttpRequest, key: APIKey) -> None:
        self.request = request
        self.key = key
        self.company: Company = key.company
        self.base = base_url()
        # Set by reads whose attributes/excludedAttributes leave Groups' members out: the
        # members are then neither loaded nor rendered.
        self.skip_members = False


def read_json(request: HttpRequest) -> Any:
    content_type = (request.content_type or "").lower()
    if content_type not in {SCIM_CONTENT_TYPE, "application/json"}:
        raise ScimError(
            415,
            f"Send the body as {SCIM_CONTENT_TYPE} (or application/json), not "
            f"'{content_type[:60] or 'no content type'}'.",
        )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise ScimError(413, "The request body is larger than 1 MB.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ScimError(413, "The request body is larger than 1 MB.") from None
    if len(raw) > MAX_BODY:
        raise ScimError(413, "The request body is larger than 1 MB.")
    try:
        return strict_json.loads(raw)  # shared with the REST API: RFC 8259, depth, NUL
    except strict_json.InvalidJSON as error:
        refuse = invalid_syntax if error.kind == "syntax" else invalid_value
        raise refuse(error.message) from None


def query_params(context: Context) -> dict[str, Any]:
    return {key: context.request.GET.get(key) for key in context.request.GET}


def search_body(context: Context) -> dict[str, Any]:
    """A POST …/.search body (RFC 7644 §3.4.3): the parameters a GET sends in its query."""
    body = read_json(context.request)
    if not isinstance(body, dict):
        raise invalid_syntax("A search body must be a JSON object.")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or s.SEARCH_REQUEST not in schemas):
        raise invalid_value(f'A search body has schemas ["{s.SEARCH_REQUEST}"].')
    # RFC 7644 §3.4.3: attribute names are strings (a list, or one comma-separated string).
    for name in ("attributes", "excludedAttributes"):
        names = param(body, name)
        if not (
            names is None
            or isinstance(names, str)
            or (isinstance(names, list) and all(isinstance(n, str) for n in names))
        ):
            raise invalid_value(f"{name} is a list of attribute names.")
    for name in ("sortBy", "sortOrder"):
        if not isinstance(param(body, name), str | None):
            raise invalid_value(f"{name} must be a string.")
    return {str(k): v for k, v in body.items()}


def param(params: dict[str, Any], name: str) -> Any:
    """A parameter by name, in any case."""
    lowered = name.lower()
    return next((v for k, v in params.items() if k.lower() == lowered), None)
