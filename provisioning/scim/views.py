"""The SCIM 2.0 door: /scim/v2/… routed here, authenticated by API key, answered in SCIM.

Thin: parse and validate the request into a user change (resources.user_changes), call
provisioning.services, render the result. One router so that every URL and method under
/scim/v2/ — known or not — answers with an RFC 7644 §3.12 body, never Django's HTML.

Why not django-scim2's views and adapters: its adapters save the model themselves (we need one
service call per change, to queue it for approval), its views answer 501 to most PATCH forms,
ignore attributes/sortBy, and render errors and 404s outside SCIM. Keeping a thin layer of its
own shape was more code than this module.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.audit import Source
from accounts.errors import Conflict, DomainError, NotFound
from accounts.models import Company, User
from approvals.scim import queue_if_required
from core import strict_json
from core.cache import when_reachable
from core.metrics import record_scim_request
from members import services
from offices.models import Office
from provisioning import activity, groups
from provisioning.scim import discovery
from provisioning.scim import schema as s
from provisioning.scim.auth import authenticate
from provisioning.scim.errors import (
    SCIM_CONTENT_TYPE,
    ScimError,
    error_response,
    invalid_filter,
    invalid_syntax,
    invalid_value,
    scim_json_response,
)
from provisioning.scim.filters import Compare, parse_filter, to_q
from provisioning.scim.locks import user_to_write
from provisioning.scim.patch import Projection, apply_patch, parse_operations, project
from provisioning.scim.resources import (
    GROUP_FILTERS,
    GROUP_SORT,
    USER_FILTERS,
    USER_SORT,
    UserRow,
    as_written,
    group_changes,
    normalize_body,
    render_group,
    render_user,
    resolver,
    resource_pk,
    sort_expression,
    user_changes,
    user_row,
)
from provisioning.scim.selectors import user_count, user_page, user_rows

logger = logging.getLogger(__name__)

DEFAULT_COUNT = 100
MAX_RESULTS = 200
MAX_BODY = 1024 * 1024
MAX_START_INDEX = 2**62
# Answers that say the request met another client's write, not that anything is wrong.
EXPECTED_CONFLICTS = frozenset({409, 412})
# How long the place of a walk through /Users is remembered (see `_walk_key`).
WALK_SECONDS = 300


def base_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/scim/v2"


class Context:
    def __init__(self, request: HttpRequest, key: Any) -> None:
        self.request = request
        self.key = key
        self.company: Company = key.company
        self.base = base_url()
        # Set by reads whose attributes/excludedAttributes leave Groups' members out: the
        # members are then neither loaded nor rendered.
        self.skip_members = False


# --- entry point ---

Handler = Callable[["Context"], HttpResponse]


@csrf_exempt
def scim_endpoint(request: HttpRequest, path: str) -> HttpResponse:
    """Route, authenticate, answer; one `record_scim_request` per request (operation like
    users.create, groups.patch, discovery.schemas; `unrouted` for unknown URLs and methods)."""
    started = time.perf_counter()
    operation, handler = route(request.method or "GET", [p for p in path.split("/") if p])
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
    if isinstance(error, NotFound):
        return ScimError(
            404 if error.field is None else 400,
            error.message,
            None if error.field is None else "invalidValue",
        )
    if isinstance(error, Conflict):
        return ScimError(409, error.message, "uniqueness")
    return ScimError(400, error.message, "invalidValue")


def _locked(handler: Handler) -> Handler:
    """A write that reads its resource locked (`find_to_write`) and writes in one transaction.
    If-Match, when sent, is compared under the lock (RFC 7644 §3.14): of several clients holding
    one version, exactly one writes, the others get 412. Without it (Okta and Entra send none)
    the write applies its operations to the resource as it stands under the lock, so that
    concurrent writes take turns and none is computed from a copy another one has changed."""

    def run(context: Context) -> HttpResponse:
        with transaction.atomic():
            return handler(context)

    return run


def _refuse(error: ScimError) -> Handler:
    def handler(context: Context) -> HttpResponse:
        raise error

    return handler


def route(method: str, parts: list[str]) -> tuple[str, Handler]:
    """The operation name and its handler for a method and path under /scim/v2/. Unknown URLs
    and methods get a handler that answers the SCIM 404/405/501 — after authentication, so an
    unauthenticated caller learns nothing about the URL space."""
    head = parts[0].lower() if parts else ""
    table: dict[str, tuple[str, Handler]] = {}
    if not parts:
        table = {"GET": ("search", lambda c: _search_all(c, _query_params(c)))}
    elif head == ".search" and len(parts) == 1:
        table = {"POST": ("search", lambda c: _search_all(c, _search_body(c)))}
    elif head in {"users", "groups"} and len(parts) <= 2:
        endpoint = USER_ENDPOINT if head == "users" else GROUP_ENDPOINT
        # Writes read their resource locked (`find_to_write`) and change it as it stands.
        if len(parts) == 1:
            table = {
                "GET": (f"{head}.list", lambda c: endpoint.list(c, _query_params(c))),
                "POST": (f"{head}.create", endpoint.create),
            }
        elif parts[1].lower() == ".search":
            table = {"POST": (f"{head}.search", lambda c: endpoint.list(c, _search_body(c)))}
        else:
            resource_id = parts[1]
            table = {
                "GET": (f"{head}.get", lambda c: endpoint.get(c, resource_id)),
                "PUT": (
                    f"{head}.replace",
                    _locked(lambda c: endpoint.replace(c, resource_id)),
                ),
                "PATCH": (
                    f"{head}.patch",
                    _locked(lambda c: endpoint.patch(c, resource_id)),
                ),
                "DELETE": (
                    f"{head}.delete",
                    _locked(lambda c: endpoint.delete(c, resource_id)),
                ),
            }
    elif head == "me" and len(parts) <= 2:
        return "me", _refuse(
            ScimError(
                501,
                "/Me is not supported: an API key authenticates the identity provider, not a user.",
            )
        )
    elif head == "bulk" and len(parts) == 1:
        return "bulk", _refuse(
            ScimError(
                501,
                "Bulk operations are not supported (bulk.supported is false); send one "
                "request per resource.",
            )
        )
    elif head in {"serviceproviderconfig", "resourcetypes", "schemas"}:
        rest = parts[1:]
        table = {
            "GET": (f"discovery.{head}", lambda c: discovery.answer(c.base, head, rest, c.company)),
        }
    if not table:
        return "unrouted", _refuse(
            ScimError(404, f"There is no SCIM endpoint at /scim/v2/{'/'.join(parts)[:100]}.")
        )
    found = table.get(method.upper())
    if found is None:
        allowed = ", ".join(table)
        return "unrouted", _refuse(
            ScimError(
                405,
                f"{method[:10]} is not allowed here. Allowed: {allowed}.",
                headers={"Allow": allowed},
            )
        )
    return found


# --- request parsing ---


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


def _query_params(context: Context) -> dict[str, Any]:
    return {key: context.request.GET.get(key) for key in context.request.GET}


def _search_body(context: Context) -> dict[str, Any]:
    body = read_json(context.request)
    if not isinstance(body, dict):
        raise invalid_syntax("A search body must be a JSON object.")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or s.SEARCH_REQUEST not in schemas):
        raise invalid_value(f'A search body has schemas ["{s.SEARCH_REQUEST}"].')
    # RFC 7644 §3.4.3: attribute names are strings (a list, or one comma-separated string).
    for name in ("attributes", "excludedAttributes"):
        names = _param(body, name)
        if not (
            names is None
            or isinstance(names, str)
            or (isinstance(names, list) and all(isinstance(n, str) for n in names))
        ):
            raise invalid_value(f"{name} is a list of attribute names.")
    for name in ("sortBy", "sortOrder"):
        if not isinstance(_param(body, name), str | None):
            raise invalid_value(f"{name} must be a string.")
    return {str(k): v for k, v in body.items()}


def _param(params: dict[str, Any], name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in params.items() if k.lower() == lowered), None)


def _integer(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_value(f"{name} must be a whole number.") from None


def _paging(params: dict[str, Any]) -> tuple[int, int]:
    # RFC 7644 §3.4.2.4: startIndex < 1 is 1, count < 0 is 0; the cap is advertised.
    start = max(1, _integer(_param(params, "startIndex"), "startIndex", 1))
    if start > MAX_START_INDEX:
        # The rows skipped are a bigint in the query: past it, PostgreSQL fails (a 500).
        raise invalid_value(f"startIndex must be at most {MAX_START_INDEX}.")
    count = _integer(_param(params, "count"), "count", DEFAULT_COUNT)
    return start, min(max(0, count), MAX_RESULTS)


def _etag(body: dict[str, Any]) -> str:
    """A hash of the representation (all but `meta`): any change to what is shown changes it.
    Sorted: what clients wrote (emails, phone numbers) keeps their key order in a body rendered
    from the object a write holds, but PostgreSQL's jsonb reorders it on a read."""
    content = body.copy()  # a dict's copy, then one key out: faster than filtering each key
    content.pop("meta", None)
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20]
    return f'W/"{digest}"'


def _with_version(body: dict[str, Any]) -> dict[str, Any]:
    body["meta"]["version"] = _etag(body)
    return body


def _none_match_fails(context: Context, version: str) -> bool:
    """Whether a GET's If-None-Match names the current version (RFC 7232 §3.2: compared
    weakly, W/ aside; * names any): the client's copy is current, the answer is 304."""
    wanted = context.request.headers.get("If-None-Match")
    if not wanted:
        return False
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    return "*" in tags or version.removeprefix("W/") in tags


def _if_match(context: Context, body: dict[str, Any]) -> None:
    wanted = context.request.headers.get("If-Match")
    if wanted and wanted.strip() != "*":
        tags = {t.strip() for t in wanted.split(",")}
        if body["meta"]["version"] not in tags:
            raise ScimError(
                412, "The resource changed since you read it (If-Match did not match its ETag)."
            )


# --- resources ---


PatchOperations = list[dict[str, Any]]  # parse_operations' result (`list` is a method below)


class UserEndpoint:
    resource_type = s.USER_TYPE

    def queryset(self, context: Context) -> Any:
        """What filters and pages select from (ids only: `page` reads the rows)."""
        return User.objects.filter(company=context.company)

    def page(
        self, context: Context, queryset: Any, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        ids = list(queryset.values_list("pk", flat=True)[offset : offset + limit])
        return self.rows(context, ids)

    def rows(self, context: Context, ids: list[int]) -> list[dict[str, Any]]:
        return self.bodies(context, user_rows(context.company.pk, ids))

    def bodies(self, context: Context, rows: list[UserRow]) -> list[dict[str, Any]]:
        return [self._body(context, row) for row in rows]

    def resource(self, context: Context, resource_id: str) -> dict[str, Any]:
        """The user's body as GET answers it (and a write, after it)."""
        pk = resource_pk(resource_id)
        rows = user_rows(context.company.pk, [pk]) if pk is not None else []
        if not rows:
            raise ScimError(404, f"User {resource_id[:40]} not found.")
        return self._body(context, rows[0])

    def render(self, context: Context, user: User) -> dict[str, Any]:
        """The body of a user `find_to_write` loaded."""
        pending = getattr(user, "pending_change_count", 0)
        return self._body(context, user_row(user, pending))

    def _body(self, context: Context, row: UserRow) -> dict[str, Any]:
        return _with_version(render_user(row, context.base))

    def find_to_write(self, context: Context, resource_id: str, operation: str) -> User:
        """The user a write changes, locked (the write's transaction is open: `_locked`), with
        what the services and `render` read, and in the same query whether `operation` on the
        user must wait for an approver (`_save` reads the answer)."""
        pk = resource_pk(resource_id)
        user = user_to_write(context.company, pk, operation) if pk is not None else None
        if user is None:
            raise ScimError(404, f"User {resource_id[:40]} not found.")
        return user

    def respond(self, context: Context, body: dict[str, Any], status: int = 200) -> HttpResponse:
        params = _query_params(context)
        headers = {"ETag": body["meta"]["version"]}
        if status == 201:
            headers["Location"] = body["meta"]["location"]
        shown = project(
            body,
            self.resource_type,
            _param(params, "attributes"),
            _param(params, "excludedAttributes"),
        )
        return scim_json_response(shown, status, headers)

    def list(self, context: Context, params: dict[str, Any]) -> HttpResponse:
        return _list_response(context, [self], params)

    def get(self, context: Context, resource_id: str) -> HttpResponse:
        context.skip_members = not _members_wanted(_query_params(context))
        body = self.resource(context, resource_id)
        if _none_match_fails(context, body["meta"]["version"]):
            return scim_json_response(None, 304, {"ETag": body["meta"]["version"]})
        return self.respond(context, body)

    def create(self, context: Context) -> HttpResponse:
        body = normalize_body(read_json(context.request), self.resource_type)
        changes = user_changes(body, replace=False, current=None)
        user, status = self._save(
            context,
            "create",
            None,
            changes,
            lambda: services.create_member_from_change(
                company=context.company, changes=changes, actor=context.key, source=Source.SCIM
            ),
        )
        return self._respond_written(context, user, status or 201)

    def replace(self, context: Context, resource_id: str) -> HttpResponse:
        user = self.find_to_write(context, resource_id, "update")
        current = self.render(context, user)
        _if_match(context, current)
        raw = read_json(context.request)
        body = normalize_body(raw, self.resource_type)
        if isinstance(raw, dict) and raw.get("id") not in (None, str(user.pk), user.pk):
            raise ScimError(400, "id cannot be changed (it is immutable).", "mutability")
        return self._update(context, user, current, body)

    def patch(self, context: Context, resource_id: str) -> HttpResponse:
        user = self.find_to_write(context, resource_id, "update")
        current = self.render(context, user)
        _if_match(context, current)
        operations = parse_operations(read_json(context.request))
        return self._update(context, user, current, self.patched(current, user, operations))

    def patched(
        self, current: dict[str, Any], user: Any, operations: PatchOperations
    ) -> dict[str, Any]:
        """The operations apply to the user as the client wrote it: phoneNumbers without the
        assigned number shown by default, and removing them leaves none, not that default."""
        written = as_written(current, user)
        wanted = apply_patch(written, operations, self.resource_type)
        if "phoneNumbers" in written and "phoneNumbers" not in wanted:
            wanted["phoneNumbers"] = []
        return wanted

    def _update(
        self, context: Context, user: User, current: dict[str, Any], wanted: dict[str, Any]
    ) -> HttpResponse:
        before = user_changes(as_written(current, user), replace=True, current=user)
        after = user_changes(wanted, replace=True, current=user)
        changes = {k: v for k, v in after.items() if before.get(k, _MISSING) != v}
        if not changes:
            return self.respond(context, current)
        updated, status = self._save(
            context,
            "update",
            user,
            changes,
            lambda: services.update_member_locked(
                user=user, changes=changes, actor=context.key, source=Source.SCIM
            ),
        )
        return self._respond_written(context, updated, status or 200)

    def _respond_written(self, context: Context, user: User, status: int) -> HttpResponse:
        """Answer a write with the user as written. Applied now, the services hand back the
        row they wrote with its office, manager and number, and no change waits for it (or it
        would have been queued): rendered as is. Queued (202): read again, with its waiting
        changes counted."""
        if status == 202:
            return self.respond(context, self.resource(context, str(user.pk)), status)
        return self.respond(context, self.render(context, user), status)

    def delete(self, context: Context, resource_id: str) -> HttpResponse:
        user = self.find_to_write(context, resource_id, "delete")
        _if_match(context, self.render(context, user))
        _, status = self._save(
            context,
            "delete",
            user,
            {},
            lambda: services.delete_member_locked(user=user, actor=context.key, source=Source.SCIM),
        )
        if status == 202:
            return self._respond_written(context, user, 202)
        return HttpResponse(status=204)

    def _save(
        self,
        context: Context,
        operation: str,
        user: User | None,
        changes: dict[str, Any],
        apply: Callable[[], Any],
    ) -> tuple[Any, int]:
        """Apply a validated change now (status 0), or queue it for an approver (202).

        Queued, the resource is answered as it stands: a create's reserved user (pending,
        inactive, no license), an untouched user for an update or delete.
        """
        queued = _write(
            lambda: queue_if_required(
                request=context.request,
                company=context.company,
                operation=operation,
                user=user,
                changes=changes,
                actor=context.key,
                must_queue=getattr(user, "must_queue", None),
            )
        )
        if queued is not None:
            return queued.user, 202
        return _write(apply), 0


_MISSING = object()


def _write(action: Callable[[], Any]) -> Any:
    """Run a service; a lost race on a unique index is a 409, like the service's own check."""
    try:
        return action()
    except IntegrityError:
        raise ScimError(
            409,
            "Another resource with the same userName, externalId or email exists.",
            "uniqueness",
        ) from None


USER_ENDPOINT = UserEndpoint()


class GroupEndpoint(UserEndpoint):
    """Groups are offices (provisioning.groups): members are the users sitting in them."""

    resource_type = s.GROUP_TYPE

    def queryset(self, context: Context) -> Any:
        offices = Office.objects.filter(company=context.company)
        if context.skip_members:
            return offices
        members = User.objects.order_by("pk").only(
            "pk", "office_id", "email", "display_name", "given_name", "family_name"
        )
        return offices.prefetch_related(Prefetch("users", queryset=members))

    def page(
        self, context: Context, queryset: Any, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        return [self.render(context, office) for office in queryset[offset : offset + limit]]

    def resource(self, context: Context, resource_id: str) -> dict[str, Any]:
        return self.render(context, self.find(context, resource_id))

    def render(self, context: Context, office: Any) -> dict[str, Any]:
        # Without members, meta.version is that of the representation returned.
        members = [] if context.skip_members else office.users.all()
        return _with_version(render_group(office, members, context.base))

    def find(self, context: Context, resource_id: str) -> Any:
        return self._get(self.queryset(context), resource_id)

    def find_to_write(self, context: Context, resource_id: str, operation: str) -> Any:
        """The office a write changes, locked (`_locked`), its members read after the lock:
        writes of one group take turns, each applying its operations to the members as the
        one before left them. FOR NO KEY UPDATE: users moving in on their own (a user's
        officeName) do not wait for it (offices.selectors.hold_office). A member's move asks
        the approval queue for itself (`member_mover`)."""
        queryset = self.queryset(context).select_for_update(of=("self",), no_key=True)
        return self._get(queryset, resource_id)

    @staticmethod
    def _get(queryset: Any, resource_id: str) -> Any:
        pk = resource_pk(resource_id)
        if pk is not None:
            try:
                return queryset.get(pk=pk)
            except Office.DoesNotExist:
                pass
        raise ScimError(404, f"Group {resource_id[:40]} not found.")

    def member_mover(self, context: Context) -> tuple[groups.MoveUser, list[Any]]:
        """Moving a member is an update of that user: it waits for an approver when the
        company's policy covers updates (or the user has changes waiting), else applies now."""
        queued: list[Any] = []
        move_now = groups.move_now(context.key, Source.SCIM)

        def move(user: User, office: Office) -> None:
            change = queue_if_required(
                request=context.request,
                company=context.company,
                operation="update",
                user=user,
                changes={"office_name": office.name},
                actor=context.key,
            )
            if change is None:
                move_now(user, office)
            else:
                queued.append(change)

        return move, queued

    def create(self, context: Context) -> HttpResponse:
        body = normalize_body(read_json(context.request), self.resource_type)
        name, member_ids, external_id = group_changes(body)
        move, queued = self.member_mover(context)
        office = groups.create_group(
            company=context.company,
            name=name,
            member_ids=member_ids,
            external_id=external_id,
            actor=context.key,
            source=Source.SCIM,
            move_user=move,
        )
        # The office exists now; members whose move waits for an approver are not in it yet.
        resource = self.resource(context, str(office.pk))
        return self.respond(context, resource, 202 if queued else 201)

    def replace(self, context: Context, resource_id: str) -> HttpResponse:
        office = self.find_to_write(context, resource_id, "update")
        current = self.render(context, office)
        _if_match(context, current)
        raw = read_json(context.request)
        body = normalize_body(raw, self.resource_type)
        if isinstance(raw, dict) and raw.get("id") not in (None, str(office.pk), office.pk):
            raise ScimError(400, "id cannot be changed (it is immutable).", "mutability")
        return self._update(context, office, current, body)

    def patched(
        self, current: dict[str, Any], office: Any, operations: PatchOperations
    ) -> dict[str, Any]:
        return apply_patch(current, operations, self.resource_type)

    def _update(
        self, context: Context, office: Any, current: dict[str, Any], wanted: dict[str, Any]
    ) -> HttpResponse:
        # The operations as changes of membership: who joins, who leaves (of the members the
        # locked read found; anyone who joined since is left as they are).
        name, member_ids, external_id = group_changes(wanted)
        _, current_ids, _ = group_changes(current)
        move, queued = self.member_mover(context)
        groups.update_group(
            office=office,
            name=name,
            add=member_ids - current_ids,
            remove=current_ids - member_ids,
            external_id=external_id,
            actor=context.key,
            source=Source.SCIM,
            move_user=move,
        )
        resource = self.resource(context, str(office.pk))
        return self.respond(context, resource, 202 if queued else 200)

    def delete(self, context: Context, resource_id: str) -> HttpResponse:
        office = self.find_to_write(context, resource_id, "delete")
        _if_match(context, self.render(context, office))
        groups.delete_group(office=office, actor=context.key, source=Source.SCIM)
        return HttpResponse(status=204)


GROUP_ENDPOINT = GroupEndpoint()


# --- lists and searches ---


def _filtered(context: Context, endpoint: UserEndpoint, filter_text: Any, root: bool) -> Any:
    queryset = endpoint.queryset(context)
    if filter_text in (None, ""):
        return queryset
    if not isinstance(filter_text, str):
        raise invalid_filter("filter must be a string.")
    tree = parse_filter(filter_text)
    filters = USER_FILTERS if endpoint is USER_ENDPOINT else GROUP_FILTERS
    condition = to_q(tree, resolver(endpoint.resource_type, filters))
    return queryset.filter(condition)


def _user_name_asked(filter_text: Any) -> str | None:
    """The name of a plain `userName eq "…"` filter; None for any other filter (which
    `_filtered` checks)."""
    if not isinstance(filter_text, str) or not filter_text:
        return None
    tree = parse_filter(filter_text)
    if not (
        isinstance(tree, Compare)
        and tree.op == "eq"
        and isinstance(tree.value, str)
        and tree.attr.sub is None
    ):
        return None
    found = resolver(s.USER_TYPE, USER_FILTERS)(tree.attr)
    return tree.value if found is USER_FILTERS["username"] else None


def _members_wanted(params: dict[str, Any]) -> bool:
    """Whether attributes/excludedAttributes keep Groups' members (projecting a sample)."""
    sample = {"members": [{"value": "0", "display": "-"}]}
    attributes, excluded = _param(params, "attributes"), _param(params, "excludedAttributes")
    return "members" in project(sample, s.GROUP_TYPE, attributes, excluded)


def _querysets(
    context: Context,
    endpoints: list[UserEndpoint],
    filter_text: Any,
    sort_by: Any,
    sort_order: str,
) -> list[tuple[UserEndpoint, Any]]:
    """Each endpoint's filtered and sorted queryset; an endpoint whose attributes the filter
    does not have is left out of a root search (an error when all are)."""
    querysets = []
    errors = []
    for endpoint in endpoints:
        try:
            queryset = _filtered(context, endpoint, filter_text, root=len(endpoints) > 1)
        except ScimError as error:
            if len(endpoints) == 1 or error.scim_type != "invalidFilter":
                raise
            errors.append(error)
            continue
        table = USER_SORT if endpoint is USER_ENDPOINT else GROUP_SORT
        if sort_by:
            expression = sort_expression(endpoint.resource_type, str(sort_by), table)
            ordering = expression.desc() if sort_order == "descending" else expression.asc()
            queryset = queryset.order_by(ordering, "pk")
        else:
            queryset = queryset.order_by("pk")  # stable pages
        querysets.append((endpoint, queryset))
    if not querysets:
        raise errors[0]
    return querysets


def _list_response(
    context: Context, endpoints: list[UserEndpoint], params: dict[str, Any]
) -> HttpResponse:
    context.skip_members = not _members_wanted(params)
    start, count = _paging(params)
    filter_text = _param(params, "filter")
    sort_by = _param(params, "sortBy")
    sort_order = str(_param(params, "sortOrder") or "ascending").lower()
    if sort_order not in {"ascending", "descending"}:
        raise invalid_value("sortOrder is ascending or descending.")
    # Identity providers read a directory page after page: in the default order, /Users
    # remembers where each page ended so that the next one starts there (keyset, flat at any
    # depth) instead of skipping `offset` rows.
    walk = endpoints == [USER_ENDPOINT] and not sort_by
    # The pages identity providers read most: the directory in order, and the filter a sync
    # sends before every create. Their rows and count by one statement built once each
    # (selectors.user_page): no queryset is built for them.
    named = _user_name_asked(filter_text) if walk else None
    direct = walk and (filter_text in (None, "") or named is not None)
    sources: list[tuple[UserEndpoint, Any]] = (
        [(USER_ENDPOINT, None)]
        if direct
        else _querysets(context, endpoints, filter_text, sort_by, sort_order)
    )
    resources: list[dict[str, Any]] = []
    total = 0
    offset = start - 1
    place = _walk_key(context, filter_text) if walk else None
    for endpoint, queryset in sources:
        wanted = count - len(resources)
        after = _walk_continued(place, start) if place and offset else None
        size: int | None = None
        if wanted <= 0:
            page = []
        elif direct:
            rows, size = user_page(
                context.company.pk,
                0 if after is not None else offset,
                wanted,
                after=after,
                user_name=named,
            )
            page = USER_ENDPOINT.bodies(context, rows)
        else:
            paged, skipped = queryset, offset
            if after is not None:
                paged, skipped = queryset.filter(pk__gt=after), 0
            page = endpoint.page(context, paged, skipped, wanted)
            if after is None and len(page) < wanted and (page or offset == 0):
                # The page ended before it was full: the total is known without counting (not
                # after a keyset start: users deleted before it would be counted in `offset`).
                size = offset + len(page)
        if place and page and len(page) == wanted:
            when_reachable(
                partial(cache.set, place, (start + wanted, int(page[-1]["id"])), WALK_SECONDS),
                fallback=None,
                skipped="SCIM list pages start by offset",
            )
        if size is None:
            size = user_count(context.company.pk, named) if direct else queryset.count()
        shown = Projection(
            endpoint.resource_type,
            _param(params, "attributes"),
            _param(params, "excludedAttributes"),
        )
        resources.extend(shown(body) for body in page)
        offset = max(0, offset - size)
        total += size
    return scim_json_response(
        {
            "schemas": [s.LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


def _walk_key(context: Context, filter_text: str | None) -> str:
    """The cache key of where this client's (API key's) last full page of the company's /Users
    list in the default order (by id), with this filter, ended: the startIndex that follows it
    and the id of its last user. Only our own writes set it: the id a keyset page starts after
    never comes from the client.

    Semantics when users change between pages: a page that continues the same client's walk
    exactly where its previous page ended starts right after the last user that page showed,
    so deleting a user before that place skips no one (OFFSET would skip the first user of the
    next page); totalResults is counted on every keyset page. Any other page — another client,
    another filter, a jump, a page read again — is OFFSET's: another walker's place, reached
    through other deletes, is not this one's.
    """
    digest = hashlib.sha256((filter_text or "").encode()).hexdigest()[:32]
    return f"scim:users-walk:{context.company.pk}:{context.key.pk}:{digest}"


def _walk_continued(place: str, start: int) -> int | None:
    """The id to start after when `start` is where the client's previous page ended."""
    remembered = when_reachable(
        partial(cache.get, place), fallback=None, skipped="SCIM list pages start by offset"
    )
    if not isinstance(remembered, list | tuple) or len(remembered) != 2:
        return None
    following, last_id = remembered
    return int(last_id) if following == start else None


def _search_all(context: Context, params: dict[str, Any]) -> HttpResponse:
    return _list_response(context, [USER_ENDPOINT, GROUP_ENDPOINT], params)
