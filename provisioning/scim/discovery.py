"""RFC 7644 §4 discovery, telling the truth: every capability here is tested."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse

from provisioning.scim import schema as s
from provisioning.scim.errors import ScimError, scim_json_response


def service_provider_config(base: str) -> dict[str, Any]:
    from provisioning.scim.patch import MAX_OPERATIONS
    from provisioning.scim.views import MAX_BODY, MAX_RESULTS

    return {
        "schemas": [s.SPC_SCHEMA],
        "documentationUri": f"{base}/ServiceProviderConfig",
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
        # Not RFC fields: limits a client can read before it hits them.
        "urn:ietf:params:scim:schemas:extension:switchboard:2.0:Limits": {
            "maxPatchOperations": MAX_OPERATIONS,
            "maxPayloadSize": MAX_BODY,
        },
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }


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
