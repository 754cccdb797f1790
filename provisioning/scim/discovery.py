"""RFC 7644 §4 discovery, telling the truth: every capability here is tested."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from provisioning.scim import schema as s
from provisioning.scim.errors import ScimError, scim_json_response


def service_provider_config(base: str) -> dict[str, Any]:
    from provisioning.scim.views import MAX_RESULTS

    return {
        "schemas": [s.SPC_SCHEMA],
        # The limits an RFC 7643 §5 document has no field for (PATCH operations, body size)
        # are stated there; the document itself only carries the standard attributes.
        "documentationUri": documentation_url(),
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "API key",
                "description": "An API key with the scim scope, sent as 'Authorization: Bearer "
                "<key>'. Created under Admin Settings › My Company › Authentication.",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


def documentation_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/scim/"


def documentation() -> str:
    """What an admin configuring an identity provider needs, the limits included."""
    from provisioning.scim.patch import MAX_OPERATIONS
    from provisioning.scim.views import MAX_BODY, MAX_RESULTS

    return f"""Switchboard SCIM 2.0 (RFC 7643 / RFC 7644)

Base URL:        {settings.PUBLIC_BASE_URL}/scim/v2
Authentication:  Authorization: Bearer <API key with the 'scim' scope>
                 (Admin Settings > My Company > Authentication > API Keys; Enterprise plan)
Resources:       Users (core, enterprise extension, {s.SWITCHBOARD_USER})
                 Groups = offices (a user is in exactly one office)

Limits
  PATCH operations per request:  {MAX_OPERATIONS} (more: 400 tooMany)
  Request body:                  {MAX_BODY // (1024 * 1024)} MB (more: 413)
  Results per page (maxResults): {MAX_RESULTS}
  Filters:                       nesting depth 32, 64 comparisons
  Bulk:                          not supported (501); /Me: not supported (501)

Users: a new user gets the main office, a 'talk' license (licenseType) and a free number
(areaCode, else the office's pool, else the company reserve). No free seat refuses the change
(400, naming the license type and the count). active=false suspends (the number is released,
the license type kept); active=true claims the seat again. DELETE frees license and number.
A 'work' phone number is accepted only when it is free in the company's pool.
Groups: POST creates an office in the main office's country and time zone; an office with
members cannot be deleted; members cannot be removed from the main office.
"""


def documentation_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(documentation(), content_type="text/plain; charset=utf-8")


def _list(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [s.LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def answer(base: str, endpoint: str, rest: list[str]) -> HttpResponse:
    if endpoint == "serviceproviderconfig" and not rest:
        return scim_json_response(service_provider_config(base))
    if endpoint == "resourcetypes":
        if not rest:
            return scim_json_response(_list([t.to_scim(base) for t in s.RESOURCE_TYPES.values()]))
        if len(rest) == 1:
            found = next(
                (t for n, t in s.RESOURCE_TYPES.items() if n.lower() == rest[0].lower()), None
            )
            if found is not None:
                return scim_json_response(found.to_scim(base))
    if endpoint == "schemas":
        if not rest:
            return scim_json_response(_list([x.to_scim(base) for x in s.ALL_SCHEMAS.values()]))
        if len(rest) == 1:
            found_schema = next(
                (x for i, x in s.ALL_SCHEMAS.items() if i.lower() == rest[0].lower()), None
            )
            if found_schema is not None:
                return scim_json_response(found_schema.to_scim(base))
    raise ScimError(404, f"There is no {endpoint} resource '{'/'.join(rest)[:100]}'.")
