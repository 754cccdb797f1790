"""django-scim2's user adapter, auth check and company scoping on our models (see __init__)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django_scim.adapters import SCIMUser
from django_scim.middleware import SCIMAuthCheckMiddleware

from accounts.audit import Source
from accounts.models import Company, User, UserStatus
from apikeys.authentication import authenticate_request
from apikeys.services import AuthenticationFailed, Throttled
from benchmarks.stock_scim.filters import StockUserFilterQuery


class APIKeyClient:
    """django-scim2's request.user: the identity provider an API key lets in, for its company."""

    is_authenticated = True

    def __init__(self, company: Company) -> None:
        self.company = company


class APIKeyAuthCheck(SCIMAuthCheckMiddleware):
    """django-scim2's auth check, after our API key check: no key or a bad one is its 401."""

    def process_request(self, request: HttpRequest) -> Any:
        try:
            key = authenticate_request(request, source=Source.SCIM)
        except (AuthenticationFailed, Throttled):
            pass
        else:
            request.user = APIKeyClient(key.company)  # type: ignore[assignment]
        return super().process_request(request)


def company_filter_kwargs_getter(model: type) -> Any:
    def company_filter_kwargs(request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"company_id": request.user.company.pk}  # type: ignore[union-attr]

    return company_filter_kwargs


class UserUnderStockNames:
    """Our User under the attribute names django-scim2's SCIMUser reads and writes: those of
    Django's AbstractUser with django-scim2's AbstractSCIMUserMixin. Other names pass through."""

    ALIASES = {
        "username": "scim_user_name",
        "scim_username": "scim_user_name",
        "first_name": "given_name",
        "last_name": "family_name",
        "scim_external_id": "external_id",
        "date_joined": "created_at",
        # Stock reads each user's groups with one query per user in a response: so does this.
        "scim_groups": "groups",
    }

    def __init__(self, user: User) -> None:
        object.__setattr__(self, "user", user)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.user, self.ALIASES.get(name, name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "is_active":  # ours is derived from status
            self.user.status = UserStatus.ACTIVE if value else UserStatus.SUSPENDED
        else:
            setattr(self.user, self.ALIASES.get(name, name), value)


class StockSCIMUser(SCIMUser):
    """django-scim2's default user adapter, on our User (see UserUnderStockNames)."""

    id_field = "id"
    # PATCH paths: stock's map (its filter map), on our columns. `active` is in stock's map but
    # not in our filter's (no such column); UserUnderStockNames turns `is_active` into a status.
    ATTR_MAP = {**StockUserFilterQuery.attr_map, ("active", None, None): "is_active"}

    def __init__(self, obj: User, request: HttpRequest | None = None) -> None:
        super().__init__(UserUnderStockNames(obj), request=request)

    def save(self) -> None:
        if self.obj.company_id is None:  # a create: the users of the key's company
            self.obj.company = self.request.user.company
        self.obj.save()

    def delete(self) -> None:
        self.obj.user.delete()
