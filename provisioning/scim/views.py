"""The SCIM 2.0 door: every request under /scim/v2/ comes in here. It is resolved in the route
table (routes.py), authenticated by API key, handed to its endpoint, and any refusal answered as
an RFC 7644 §3.12 body — for every URL and method, known or not, never Django's HTML.

Why not django-scim2's views and adapters: its adapters save the model themselves (we need one
service call per change, to queue it for approval), its views answer 501 to most PATCH forms,
ignore attributes/sortBy, and render errors and 404s outside SCIM. Keeping a thin layer of its
own shape was more code than this door.
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.errors import Conflict, DomainError, NotFound
from core.metrics import record_scim_request
from provisioning import activity
from provisioning.scim import routes
from provisioning.scim.auth import authenticate
from provisioning.scim.errors import ScimError, error_response
from provisioning.scim.request import Context

logger = logging.getLogger(__name__)

# Answers that say the request met another client's write, not that anything is wrong.
EXPECTED_CONFLICTS = frozenset({409, 412})


@csrf_exempt
def scim_endpoint(request: HttpRequest, path: str) -> HttpResponse:
    """Route, authenticate, answer; one `record_scim_request` per request (operation like
    users.create, groups.patch, discovery.schemas; `unrouted` for unknown URLs and methods)."""
    started = time.perf_counter()
    operation, handler = routes.resolve(request.method or "GET", path)
    key, refusal = None, None
    try:
        key = authenticate(request)
        response = handler(Context(request, key))
    except ScimError as error:
        refusal = error
    except DomainError as error:
        refusal = domain_error(error)
    if refusal is not None:
        response = error_response(refusal)
        if refusal.status in EXPECTED_CONFLICTS:
            # Normal identity-provider traffic (a create racing another, a stale ETag): one
            # line saying why, instead of Django's warning (and a traceback) for each.
            logger.info(
                "SCIM %s %s answered %s: %s",
                request.method,
                request.path[:200],
                refusal.status,
                refusal.detail,
            )
            response._has_been_logged = True  # type: ignore[attr-defined]
        if key is not None and activity.should_record_refusal(request.method or "", refusal.status):
            # Counted and shown on the SCIM Provisioning page (provisioning.activity).
            activity.record_refused_request(
                key=key,
                request=request,
                operation=operation,
                status=refusal.status,
                detail=refusal.detail,
            )
    record_scim_request(
        operation=operation, status=response.status_code, seconds=time.perf_counter() - started
    )
    return response


def domain_error(error: DomainError) -> ScimError:
    """A service's refusal as SCIM: not found (404, or 400 naming a field), conflict (409),
    anything else invalid (400)."""
    if isinstance(error, NotFound):
        return ScimError(
            404 if error.field is None else 400,
            error.message,
            None if error.field is None else "invalidValue",
        )
    if isinstance(error, Conflict):
        return ScimError(409, error.message, "uniqueness")
    return ScimError(400, error.message, "invalidValue")
