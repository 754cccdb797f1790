"""Shapes of the API: read serializers for resources, strict request bodies for actions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AuditEvent, LicenseType, ManagedBy, Role, User, UserStatus
from approvals.models import ChangeStatus, Operation, PendingChange
from offices.models import NumberStatus, Office, PhoneNumber

# --- errors (documented in the schema; produced by api.errors) ---


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable machine-readable reason: invalid, invalid_cursor, not_found, conflict, "
        "idp_owned, no_free_seats, already_decided, not_authenticated, authentication_failed, "
        "missing_scope, rate_limited, method_not_allowed, unsupported_media_type, parse_error …"
    )
    message = serializers.CharField(help_text="What was wrong and what to do, for people.")
    field = serializers.CharField(
        allow_null=True, help_text="The body field or query parameter at fault, or null."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- strict request bodies ---


class StrictSerializer(serializers.Serializer):
    """A request body: a JSON object holding only the declared fields."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(key)[:50] for key in data if key not in self.fields)
            if unknown:
                allowed = ", ".join(self.fields) or "no fields"
                raise serializers.ValidationError(
                    {unknown[0]: [f"Unknown field. This body takes: {allowed}."]}
                )
        return super().to_internal_value(data)


class MoveToOfficeSerializer(StrictSerializer):
    """Where the user sits from now on."""

    office = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="Id of one of the company's offices."
    )


class ChangeLicenseSerializer(StrictSerializer):
    """The license type the user holds from now on."""

    license_type = serializers.ChoiceField(choices=LicenseType.choices)


class ReactivateSerializer(StrictSerializer):
    """Optional: the license the user gets back."""

    license_type = serializers.ChoiceField(
        choices=LicenseType.choices,
        required=False,
        help_text="The license to give back; default: the one they held before suspension.",
    )


class AssignNumberSerializer(StrictSerializer):
    """`number`, `area_code`, or neither (any free number); not both."""

    area_code = serializers.RegexField(
        r"^[0-9]{1,8}$",
        required=False,
        help_text="Take a free number of this area code (in the user's office, else the "
        "company reserve). Their current number is kept when none is free there.",
    )
    number = serializers.RegexField(
        r"^\+[1-9][0-9]{6,14}$",
        required=False,
        help_text="This exact number (E.164), which must be one of the company's and free.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "area_code" in attrs and "number" in attrs:
            raise serializers.ValidationError(
                {"number": ["Give either area_code or number, not both."]}
            )
        return attrs


class DecisionSerializer(StrictSerializer):
    """An approver's note."""

    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Why (kept with the change)."
    )


# --- resources ---


class OfficeRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=UserStatus.choices)
    role = serializers.ChoiceField(choices=Role.choices)
    managed_by = serializers.ChoiceField(
        choices=ManagedBy.choices,
        help_text="scim: the identity provider manages the user (see the ownership rules).",
    )
    license_type = serializers.SerializerMethodField()
    office = serializers.SerializerMethodField()
    phone_number = serializers.SerializerMethodField()
    needs_number = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "given_name",
            "family_name",
            "display_name",
            "title",
            "department",
            "status",
            "role",
            "is_approver",
            "license_type",
            "managed_by",
            "office",
            "phone_number",
            "needs_number",
            "external_id",
            "scim_user_name",
            "created_at",
            "updated_at",
        )

    @extend_schema_field(serializers.ChoiceField(choices=LicenseType.choices, allow_null=True))
    def get_license_type(self, user: User) -> str | None:
        return user.license_type or None

    @extend_schema_field(OfficeRefSerializer(allow_null=True))
    def get_office(self, user: User) -> dict[str, Any] | None:
        office = user.office
        return {"id": office.pk, "name": office.name} if office is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="E.164"))
    def get_phone_number(self, user: User) -> str | None:
        number = _number_of(user)
        return number.number if number is not None else None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_needs_number(self, user: User) -> bool:
        return (
            user.status == UserStatus.ACTIVE
            and bool(user.license_type)
            and _number_of(user) is None
        )


def _number_of(user: User) -> PhoneNumber | None:
    try:
        return user.phone_number
    except PhoneNumber.DoesNotExist:
        return None


class OfficeSerializer(serializers.ModelSerializer):
    user_count = serializers.IntegerField(read_only=True)
    number_count = serializers.IntegerField(read_only=True)
    free_number_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Office
        fields = (
            "id",
            "name",
            "country",
            "timezone",
            "is_main",
            "user_count",
            "number_count",
            "free_number_count",
            "created_at",
            "updated_at",
        )


class LicenseUsageSerializer(serializers.Serializer):
    license_type = serializers.ChoiceField(choices=LicenseType.choices)
    label = serializers.CharField()  # type: ignore[assignment]
    total = serializers.IntegerField(help_text="Seats the company has.")
    used = serializers.IntegerField(help_text="Seats held by active users.")
    free = serializers.IntegerField()


class OfficeAvailabilitySerializer(serializers.Serializer):
    office = OfficeRefSerializer()
    licenses = LicenseUsageSerializer(
        many=True, help_text="Seats are company-wide: the same counts for every office."
    )
    free_numbers = serializers.IntegerField(help_text="Free numbers in the office's own pool.")
    free_reserve_numbers = serializers.IntegerField(
        help_text="Free numbers of the company reserve in the office's country."
    )
    can_onboard = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Per license type: how many new users of that type the office can take now, "
        "each with a license and a number (the smaller of free seats and free numbers).",
    )


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class PhoneNumberSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=NumberStatus.choices)
    formatted = serializers.CharField()
    area_code = serializers.SerializerMethodField()
    office = serializers.SerializerMethodField()
    assigned_user = serializers.SerializerMethodField()

    class Meta:
        model = PhoneNumber
        fields = (
            "id",
            "number",
            "formatted",
            "country",
            "area_code",
            "office",
            "status",
            "assigned_user",
            "created_at",
            "updated_at",
        )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_area_code(self, number: PhoneNumber) -> str | None:
        return number.area_code.code if number.area_code is not None else None

    @extend_schema_field(
        OfficeRefSerializer(allow_null=True, help_text="null: in the company reserve.")
    )
    def get_office(self, number: PhoneNumber) -> dict[str, Any] | None:
        office = number.office
        return {"id": office.pk, "name": office.name} if office is not None else None

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_assigned_user(self, number: PhoneNumber) -> dict[str, Any] | None:
        user = number.assigned_user
        return {"id": user.pk, "email": user.email} if user is not None else None


class AuditActorSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="user, api_key, system or client.")
    label = serializers.CharField()  # type: ignore[assignment]
    user_id = serializers.IntegerField(allow_null=True)


class AuditTargetSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="e.g. accounts.user, offices.phonenumber.")
    id = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)

    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "created_at",
            "action",
            "actor",
            "source",
            "target",
            "request_id",
            "client_ip",
            "before",
            "after",
        )

    @extend_schema_field(AuditActorSerializer())
    def get_actor(self, event: AuditEvent) -> dict[str, Any]:
        return {
            "kind": event.actor_kind,
            "label": event.actor_label,
            "user_id": event.actor_user_id,
        }

    @extend_schema_field(AuditTargetSerializer(allow_null=True))
    def get_target(self, event: AuditEvent) -> dict[str, Any] | None:
        if not event.target_type:
            return None
        return {"type": event.target_type, "id": event.target_id, "label": event.target_label}


class DiffRowSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="The attribute, as an approver reads it.")  # type: ignore[assignment]
    before = serializers.CharField(help_text="Its value now (or just before the change applied).")
    after = serializers.CharField(help_text="Its value once the change applies.")
    changed = serializers.BooleanField()


class PendingChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    operation = serializers.ChoiceField(choices=Operation.choices)
    status = serializers.ChoiceField(choices=ChangeStatus.choices)
    user = serializers.SerializerMethodField()
    user_label = serializers.CharField(help_text="Who the change is about (kept after deletes).")
    requested_by = serializers.CharField(source="requested_by_label")
    changes = serializers.JSONField(help_text="The change as the identity provider asked it.")
    created_at = serializers.DateTimeField()
    reviewed_by = serializers.SerializerMethodField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_comment = serializers.CharField()
    error = serializers.CharField(help_text="Why applying it failed (status failed).")
    applied_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_user(self, change: PendingChange) -> dict[str, Any] | None:
        user = change.user
        return {"id": user.pk, "email": user.email} if user is not None else None

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text="The approver's email; null when an API key decided (the audit log "
            "names the key) or nobody has yet.",
        )
    )
    def get_reviewed_by(self, change: PendingChange) -> str | None:
        return change.reviewed_by.email if change.reviewed_by is not None else None


class PendingChangeDetailSerializer(PendingChangeSerializer):
    diff = serializers.SerializerMethodField()

    @extend_schema_field(DiffRowSerializer(many=True))
    def get_diff(self, change: PendingChange) -> list[dict[str, Any]]:
        from approvals.diff import change_rows

        return [
            {
                "label": str(row["label"]),
                "before": str(row["before"]),
                "after": str(row["after"]),
                "changed": bool(row["changed"]),
            }
            for row in change_rows(change)
        ]
