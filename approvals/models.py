"""The approval queue: a company's provisioning policy and the SCIM changes waiting on it."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import Company

DEFAULT_PENDING_CHANGE_TTL_DAYS = 14


class Operation(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"


class ChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved, applying"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


# A change in one of these states still has to happen (or be discarded) before any later change
# for the same user may apply: per-user arrival order.
OPEN_STATUSES = (ChangeStatus.PENDING, ChangeStatus.APPROVED, ChangeStatus.FAILED)
DECIDABLE_STATUSES = (ChangeStatus.PENDING,)


class ProvisioningPolicy(models.Model):
    """Which SCIM operations of a company wait for an approver. No row: nothing waits."""

    company = models.OneToOneField(
        Company, on_delete=models.CASCADE, related_name="provisioning_policy"
    )
    require_create = models.BooleanField("require approval to create users", default=False)
    require_update = models.BooleanField("require approval to update users", default=False)
    require_delete = models.BooleanField("require approval to delete users", default=False)
    pending_change_ttl_days = models.PositiveSmallIntegerField(
        "expire pending changes after (days)",
        default=DEFAULT_PENDING_CHANGE_TTL_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    # When approvers were last mailed a digest: at most one mail per interval.
    last_digest_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "provisioning policy"
        verbose_name_plural = "provisioning policies"

    def __str__(self) -> str:
        return f"Provisioning policy of {self.company}"

    def requires(self, operation: str) -> bool:
        return bool(getattr(self, f"require_{operation}", False))


class PendingChange(models.Model):
    """One SCIM create, update or delete waiting for (or past) an approver's decision."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="pending_changes")
    operation = models.CharField(max_length=10, choices=Operation.choices)
    # For a create, the reserved user (status pending). NULL once the user is gone (applied
    # delete, rejected create): `user_label` keeps saying who it was.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pending_changes",
    )
    user_label = models.CharField("user", max_length=300)
    # The request as received, for the record, and the validated change the SCIM layer computed
    # from it (what is applied; see members.services for its keys).
    request_method = models.CharField(max_length=10)
    request_path = models.CharField(max_length=500)
    request_body = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PENDING
    )
    requested_by = models.ForeignKey(
        "apikeys.APIKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pending_changes",
    )
    requested_by_label = models.CharField("requested by", max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField("comment", blank=True)
    # The user's fields as they were just before the change applied: the diff stays readable.
    before = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    applied_at = models.DateTimeField(null=True, blank=True)
    approvers_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "pending approval"
        verbose_name_plural = "pending approvals"
        # Arrival order: ids come from one sequence, so they order changes as they arrived.
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["company", "status"], name="pendingchange_company_status"),
            models.Index(fields=["user", "status"], name="pendingchange_user_status"),
            models.Index(fields=["status", "reviewed_at"], name="pendingchange_status_reviewed"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_operation_display()} {self.user_label}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
