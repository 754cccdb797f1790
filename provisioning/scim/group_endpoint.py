"""/Groups: offices as SCIM Groups (provisioning.groups): the members are the users sitting in
the office. Reads come from selectors, bodies from rendering, changes from
changes.group_changes, writes go through writes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from offices.models import Office
from provisioning.scim import schema as s
from provisioning.scim import selectors, writes
from provisioning.scim.changes import group_changes
from provisioning.scim.conditions import with_version
from provisioning.scim.endpoint import Body, ResourceEndpoint
from provisioning.scim.queries import GROUP_FILTERS, GROUP_SORT
from provisioning.scim.rendering import render_group
from provisioning.scim.request import Context


class GroupEndpoint(ResourceEndpoint):
    resource_type = s.GROUP_TYPE
    filters = GROUP_FILTERS
    sort = GROUP_SORT

    def queryset(self, context: Context) -> QuerySet[Any]:
        return selectors.offices(context.company, members=not context.skip_members)

    def page(
        self, context: Context, queryset: QuerySet[Any], offset: int, limit: int
    ) -> list[Body]:
        return [self.render(context, office) for office in queryset[offset : offset + limit]]

    def read(self, context: Context, pk: int) -> Body | None:
        office = self.queryset(context).filter(pk=pk).first()
        return None if office is None else self.render(context, office)

    def lock(self, context: Context, pk: int) -> Office | None:
        """A member's move asks the approval queue for itself (writes.update_group)."""
        return selectors.office_to_write(context.company, pk)

    def render(self, context: Context, resource: Office) -> Body:
        # Without members, meta.version is that of the representation returned.
        members = [] if context.skip_members else resource.users.all()
        return with_version(render_group(resource, members, context.base))

    def create_from(self, context: Context, body: Body) -> tuple[Body, int]:
        office, queued = writes.create_group(context, group_changes(body))
        # The office exists now; members whose move waits for an approver are not in it yet.
        return self._reread(context, office), 202 if queued else 201

    def change(
        self, context: Context, resource: Office, current: Body, wanted: Body
    ) -> tuple[Body, int]:
        # The operations as changes of membership, of the members the locked read found.
        wanted_changes = group_changes(wanted)
        queued = writes.update_group(context, resource, group_changes(current), wanted_changes)
        return self._reread(context, resource), 202 if queued else 200

    def remove(self, context: Context, resource: Office) -> Body | None:
        writes.delete_group(context, resource)
        return None

    def _reread(self, context: Context, office: Office) -> Body:
        body = self.read(context, office.pk)
        if body is None:  # deleted by another request since: nothing else to show
            raise self._not_found(str(office.pk))
        return body
