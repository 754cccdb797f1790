from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from sso.services import password_sign_in_policy


class PasswordPolicyBackend(ModelBackend):
    """Django's password sign-in, refused where the company enforces SSO.

    Company admins keep a break-glass password when their company allows it (the sign-in views
    audit it). Every password door — /login/, the admin, anything later — goes through here.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and password_sign_in_policy(user) == "refused":
            raise PermissionDenied("This company signs in with single sign-on.")
        return user
