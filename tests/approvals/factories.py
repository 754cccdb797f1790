from accounts.audit import SYSTEM, Source
from approvals import services
from approvals.models import ChangeStatus, Operation, PendingChange
from members import services as members
from tests.accounts.factories import UserFactory
from tests.tenancy import tenant_object


def request_record(method="PATCH", path="/scim/v2/Users/1", body="{}"):
    return {"method": method, "path": path, "body": body}


def policy(company, *operations, ttl_days=None):
    return services.set_policy(
        company=company,
        require_create="create" in operations,
        require_update="update" in operations,
        require_delete="delete" in operations,
        pending_change_ttl_days=ttl_days,
        actor=SYSTEM,
        source=Source.CLI,
    )


def queue_update(company, user, changes, actor=SYSTEM):
    return services.queue_change(
        company=company,
        operation=Operation.UPDATE,
        user=user,
        changes=changes,
        request_record=request_record(path=f"/scim/v2/Users/{user.pk}"),
        actor=actor,
        source=Source.SCIM,
    )


def queue_create(company, changes, actor=SYSTEM):
    return services.queue_change(
        company=company,
        operation=Operation.CREATE,
        user=None,
        changes=changes,
        request_record=request_record(method="POST", path="/scim/v2/Users"),
        actor=actor,
        source=Source.SCIM,
    )


def users_with_queued_updates(company, users, changes_per_user):
    """`users` SCIM users, the update policy on, and `changes_per_user` title changes each, in
    interleaved arrival: change k of every user, then change k+1 of every user."""
    people = [
        members.create_member_from_change(
            company=company,
            changes={"email": f"u{n}@acme.example"},
            actor=SYSTEM,
            source=Source.SCIM,
        )
        for n in range(users)
    ]
    policy(company, "update")
    changes = [
        queue_update(company, user, {"title": f"step {step}"})
        for step in range(changes_per_user)
        for user in people
    ]
    return people, changes


@tenant_object(PendingChange)
def make_pending_change(company):
    user = UserFactory(company=company, given_name=f"Secret{company.slug}", family_name="Pending")
    return PendingChange.objects.create(
        company=company,
        operation=Operation.UPDATE,
        user=user,
        user_label=user.email,
        request_method="PATCH",
        request_path=f"/scim/v2/Users/{user.pk}",
        request_body="{}",
        changes={"title": "Secret title"},
        status=ChangeStatus.PENDING,
    )
