"""Scopes: which API keys may call which endpoint.

Reads need `api:read`, writes `api:write`, decisions on pending changes `api:approve`; a view
says which scope an action needs in `required_scopes` (action name → scope), and anything it
does not name follows the method (safe methods read, others write). A key without the scope gets
403 `missing_scope` naming it. Keys made before the REST API existed hold only `scim` and keep
working for SCIM; they are refused here until a key with API scopes is made.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apikeys.models import APIKey, Scope

KEYS_PAGE = "Admin Settings › My Company › Authentication › API Keys"


class MissingScope(exceptions.PermissionDenied):
    default_code = "missing_scope"

    def __init__(self, scope: str) -> None:
        label = Scope(scope).label
        super().__init__(
            detail=f"This API key does not have the '{scope}' scope ({label}). A company admin "
            f"can add a key that has it under {KEYS_PAGE}.",
            code="missing_scope",
        )
        self.scope = scope


def required_scope(request: Request, view: Any) -> str:
    action = getattr(view, "action", None)
    scopes: dict[str, str] = getattr(view, "required_scopes", {})
    if action in scopes:
        return scopes[action]
    return Scope.API_READ if request.method in SAFE_METHODS else Scope.API_WRITE


class HasKeyScope(BasePermission):
    """The request carries an API key (else 401) holding the scope the action needs (else 403)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, APIKey):
            raise exceptions.NotAuthenticated(
                "Send an API key as 'Authorization: Bearer <key>'. A company admin creates "
                f"keys under {KEYS_PAGE}."
            )
        scope = required_scope(request, view)
        if not request.auth.has_scope(scope):
            raise MissingScope(scope)
        return True
