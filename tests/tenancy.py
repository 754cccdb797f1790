"""Registry of how to make one object of each tenant-owned model for a given company.

The cross-tenant admin test walks every model registered in Admin Settings and needs one object
of it in another company: each app's factories module registers a maker with `@tenant_object`.
A model registered in the admin without a maker fails that test, so new pages cannot skip it.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import Model

TENANT_OBJECT_MAKERS: dict[type[Model], Callable[[Any], Model]] = {}


def tenant_object(model: type[Model]) -> Callable[[Callable[[Any], Model]], Callable[[Any], Model]]:
    def register(maker: Callable[[Any], Model]) -> Callable[[Any], Model]:
        TENANT_OBJECT_MAKERS[model] = maker
        return maker

    return register
