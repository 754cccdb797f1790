"""/Users: users as SCIM Users. Reads come from selectors (one query a page, a body or a locked
user), bodies from rendering, changes from changes.user_changes, writes go through writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from provisioning.scim import schema as s
from provisioning.scim import selectors, writes
from provisioning.scim.changes import user_changes
from provisioning.scim.conditions import with_version
from provisioning.scim.endpoint import Body, ResourceEndpoint
from provisioning.scim.filters import Compare, parse_filter
from provisioning.scim.listing import ListQuery, Source
from provisioning.scim.queries import USER_FILTERS, USER_SORT, resolver
from provisioning.scim.rendering import UserRow, as_written, render_user, user_row
from provisioning.scim.request import Context

_MISSING = object()


class UserEndpoint(ResourceEndpoint):
    resource_type = s.USER_TYPE
    filters = USER_FILTERS
    sort = USER_SORT
    walks = True

    def queryset(self, context: Context) -> QuerySet[Any]:
        """Ids only: `page` reads the rows."""
        return User.objects.filter(company=context.company)

    def page(
        self, context: Context, queryset: QuerySet[Any], offset: int, limit: int
    ) -> list[Body]:
        ids = list(queryset.values_list("pk", flat=True)[offset : offset + limit])
        return self.bodies(context, selectors.user_rows(context.company.pk, ids))

    def bodies(self, context: Context, rows: list[UserRow]) -> list[Body]:
        return [with_version(render_user(row, context.base)) for row in rows]

    def direct_source(self, context: Context, query: ListQuery) -> Source | None:
        """The pages identity providers read most — the directory in id order, and the
        `userName eq` filter a sync sends before every create — by one statement each
        (selectors.user_page): no queryset is built for them."""
        if query.sort_by:
            return None
        if query.filter_text in (None, ""):
            return UserPageSource(self, context, None)
        named = _user_name_asked(query.filter_text)
        return None if named is None else UserPageSource(self, context, named)

    def read(self, context: Context, pk: int) -> Body | None:
        rows = selectors.user_rows(context.company.pk, [pk])
        return self.bodies(context, rows)[0] if rows else None

    def lock(self, context: Context, pk: int) -> User | None:
        """With the count of its changes waiting: whether a change must wait (writes reads it)."""
        return selectors.user_to_write(context.company, pk)

    def render(self, context: Context, resource: User) -> Body:
        pending = getattr(resource, "pending_change_count", 0)
        return with_version(render_user(user_row(resource, pending), context.base))

    def create_from(self, context: Context, body: Body) -> tuple[Body, int]:
        changes = user_changes(body, replace=False, current=None)
        user, queued = writes.create_user(context, changes)
        return self._written(context, user, queued), 202 if queued else 201

    def apply_operations(
        self, current: Body, resource: User, operations: list[dict[str, Any]]
    ) -> Body:
        """The operations apply to the user as the client wrote it: phoneNumbers without the
        assigned number shown by default, and removing them leaves none, not that default."""
        written = as_written(current, resource)
        wanted = super().apply_operations(written, resource, operations)
        if "phoneNumbers" in written and "phoneNumbers" not in wanted:
            wanted["phoneNumbers"] = []
        return wanted

    def change(
        self, context: Context, resource: User, current: Body, wanted: Body
    ) -> tuple[Body, int]:
        before = user_changes(as_written(current, resource), replace=True, current=resource)
        after = user_changes(wanted, replace=True, current=resource)
        changes = {k: v for k, v in after.items() if before.get(k, _MISSING) != v}
        if not changes:
            return current, 200
        updated, queued = writes.update_user(context, resource, changes)
        return self._written(context, updated, queued), 202 if queued else 200

    def remove(self, context: Context, resource: User) -> Body | None:
        queued = writes.delete_user(context, resource)
        return self._written(context, resource, queued) if queued else None

    def _written(self, context: Context, user: User, queued: bool) -> Body:
        """The user as written. Applied now, the services hand back the row they wrote with its
        office, manager and number, and no change waits for it (or it would have been queued):
        rendered as is. Queued: read again, with its waiting changes counted."""
        if queued:
            body = self.read(context, user.pk)
            if body is not None:
                return body
        return self.render(context, user)


def _user_name_asked(filter_text: Any) -> str | None:
    """The name of a plain `userName eq "…"` filter; None for any other filter."""
    if not isinstance(filter_text, str):
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


@dataclass(frozen=True)
class UserPageSource:
    """A /Users list in id order, maybe of one userName: selectors.user_page."""

    endpoint: UserEndpoint
    context: Context
    user_name: str | None

    @property
    def resource_type(self) -> s.ResourceType:
        return s.USER_TYPE

    def page(self, offset: int, limit: int, after: int | None) -> tuple[list[Body], int | None]:
        rows, size = selectors.user_page(
            self.context.company.pk,
            0 if after is not None else offset,
            limit,
            after=after,
            user_name=self.user_name,
        )
        return self.endpoint.bodies(self.context, rows), size

    def count(self) -> int:
        return selectors.user_count(self.context.company.pk, self.user_name)
