import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, User
from approvals.models import ChangeStatus, PendingChange, ProvisioningPolicy
from tests.approvals.factories import make_pending_change, policy, queue_update

pytestmark = pytest.mark.django_db


def test_provisioning_policy_sets_and_clears(company, capsys):
    call_command("provisioning_policy", "--company", "acme", "--require-approval", "create,Update")
    saved = ProvisioningPolicy.objects.get(company=company)
    assert (saved.require_create, saved.require_update, saved.require_delete) == (True, True, False)
    assert "approval required for create, update" in capsys.readouterr().out
    call_command("provisioning_policy", "--company", "acme", "--require-approval", "")
    saved.refresh_from_db()
    assert not (saved.require_create)
    assert not (saved.require_update)
    assert not (saved.require_delete)
    assert (
        AuditEvent.objects.filter(action="provisioning.policy_changed", source="cli").count() == 2
    )


def test_provisioning_policy_refuses_unknown_things(company):
    with pytest.raises(CommandError, match="Unknown operation"):
        call_command("provisioning_policy", "--company", "acme", "--require-approval", "create,x")
    with pytest.raises(CommandError, match="No company"):
        call_command("provisioning_policy", "--company", "nope", "--require-approval", "")


def test_pending_list_approve_reject(
    company, scim_user, approver, capsys, django_capture_on_commit_callbacks
):
    policy(company, "update")
    first = queue_update(company, scim_user, {"title": "CTO"})
    second = queue_update(company, scim_user, {"title": "CEO"})
    call_command("pending", "list", "--company", "acme")
    out = capsys.readouterr().out
    assert f"#{first.pk}  update  ada@acme.example" in out
    assert "pending" in out

    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "pending", "approve", "--company", "acme", "--id", str(first.pk), "--as", approver.email
        )
    first.refresh_from_db()
    assert first.status == ChangeStatus.APPLIED
    assert first.reviewed_by == approver
    assert AuditEvent.objects.get(action="provisioning.change_approved").source == "cli"

    call_command("pending", "reject", "--company", "acme", "--all", "--as", approver.email)
    second.refresh_from_db()
    assert second.status == ChangeStatus.REJECTED
    assert User.objects.get(pk=scim_user.pk).title == "CTO"


def test_pending_refuses_strangers_and_foreign_ids(
    company, other_company, scim_user, member, approver
):
    policy(company, "update")
    change = queue_update(company, scim_user, {"title": "CTO"})
    foreign = make_pending_change(other_company)
    with pytest.raises(CommandError, match="not a user of acme"):
        call_command(
            "pending", "approve", "--company", "acme", "--all", "--as", "x@nowhere.example"
        )
    with pytest.raises(CommandError, match="were not decided"):
        call_command("pending", "approve", "--company", "acme", "--all", "--as", member.email)
    with pytest.raises(CommandError, match=f"No change #{foreign.pk}"):
        call_command(
            "pending",
            "approve",
            "--company",
            "acme",
            "--id",
            str(foreign.pk),
            "--as",
            approver.email,
        )
    assert set(PendingChange.objects.values_list("status", flat=True)) == {"pending"}
    assert change.pk


def test_pending_approve_all_decides_in_bulk_and_names_the_skipped(
    company, approver, capsys, monkeypatch
):
    from approvals import services

    monkeypatch.setattr(services, "send_once", lambda *args: None)
    changes = [make_pending_change(company) for _ in range(3)]
    call_command("pending", "approve", "--company", "acme", "--all", "--as", approver.email)
    out = capsys.readouterr().out
    assert all(f"#{change.pk} approved" in out for change in changes)
    assert (
        AuditEvent.objects.filter(action="provisioning.change_approved", source="cli").count() == 3
    )
    with pytest.raises(CommandError, match="1 of 1 change"):
        call_command(
            "pending",
            "approve",
            "--company",
            "acme",
            "--id",
            str(changes[0].pk),
            "--as",
            approver.email,
        )
    assert (
        f"#{changes[0].pk}: Change #{changes[0].pk} is already approved" in capsys.readouterr().err
    )
