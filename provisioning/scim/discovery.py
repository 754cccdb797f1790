"""RFC 7644 §4 discovery, telling the truth: every capability here is tested."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.models import Company
from offices.models import Office, PhoneNumber
from provisioning.scim import schema as s
from provisioning.scim.errors import ScimError, scim_json_response
from provisioning.scim.listing import MAX_RESULTS
from provisioning.scim.patch import MAX_OPERATIONS
from provisioning.scim.request import MAX_BODY, Context


def service_provider_config(context: Context) -> HttpResponse:
    return scim_json_response(_service_provider_config(context.base))


def _service_provider_config(base: str) -> dict[str, Any]:
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
(areaCode, else the office's pool, else the company reserve). Any officeName listed in /Schemas
goes with any areaCode listed there: numbers stay in their office's country, so an area code of
another country gives the office's number (or none yet) and is kept for a move to an office of
its country. No free seat refuses the change
(400, naming the license type and the count). active=false suspends (the number is released,
the license type kept); active=true claims the seat again. DELETE frees license and number.
A 'work' phone number is accepted only when it is free in the company's pool.
Groups: POST creates an office in the main office's country and time zone (displayName up to
256 characters). Removing a member moves them to the main office; removing one from the main
office's group leaves them there (200). DELETE moves the members to the main office and the
office's numbers to the company reserve (holders keep theirs), then deletes the office (204);
the main office's group is refused while people sit in it. Member values are user ids compared
as written ("0296" is no id).
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


def _schema(schema: s.Schema, base: str, company: Company) -> dict[str, Any]:
    """A schema as published; our extension lists the company's offices and the area codes of
    its numbers as canonical values (the values a client can send that will be accepted: any
    office with any area code, offices.services.find_user_area_code)."""
    body = schema.to_scim(base)
    if schema.id != s.SWITCHBOARD_USER:
        return body
    offices = list(
        Office.objects.filter(company=company).order_by("name").values_list("name", flat=True)
    )
    area_codes = list(
        PhoneNumber.objects.filter(company=company, area_code__isnull=False)
        .order_by("area_code__code")
        .values_list("area_code__code", flat=True)
        .distinct()
    )
    for attribute in body["attributes"]:
        if attribute["name"] == "officeName" and offices:
            attribute["canonicalValues"] = offices
        if attribute["name"] == "areaCode" and area_codes:
            attribute["canonicalValues"] = area_codes
    return body


def resource_types(context: Context) -> HttpResponse:
    return scim_json_response(_list([t.to_scim(context.base) for t in s.RESOURCE_TYPES.values()]))


def resource_type(context: Context, name: str) -> HttpResponse:
    found = next((t for n, t in s.RESOURCE_TYPES.items() if n.lower() == name.lower()), None)
    if found is None:
        raise ScimError(404, f"There is no resourcetypes resource '{name[:100]}'.")
    return scim_json_response(found.to_scim(context.base))


def schemas(context: Context) -> HttpResponse:
    return scim_json_response(
        _list([_schema(x, context.base, context.company) for x in s.ALL_SCHEMAS.values()])
    )


def schema(context: Context, id: str) -> HttpResponse:
    found = next((x for i, x in s.ALL_SCHEMAS.items() if i.lower() == id.lower()), None)
    if found is None:
        raise ScimError(404, f"There is no schemas resource '{id[:100]}'.")
    return scim_json_response(_schema(found, context.base, context.company))
