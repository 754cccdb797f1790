"""drf-spectacular: how API-key authentication appears in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.APIKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sbk_<prefix>_<secret>",
            "description": "An API key from Admin Settings › My Company › Authentication › "
            "API Keys, sent as `Authorization: Bearer <key>`. Its scopes decide what it may do.",
        }


def closed_request_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: request bodies take only their declared fields (the API refuses
    others with a 400), so the schema says `additionalProperties: false` for them."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
