"""The company REST API (`/api/v1/`). Thin: check the shape, scope to the key's company, call
the service that owns the change (acting as the key, source `api`), answer with a fresh read."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit import Source
from accounts.errors import Conflict
from accounts.models import AuditEvent, LicenseType, ManagedBy, Role, User, UserStatus
from accounts.selectors import license_usage
from api.base import SOURCE, CompanyViewSet, ETagRetrieveMixin, conditional_response
from api.docs import (
    IF_NONE_MATCH,
    READ_ERRORS,
    WRITE_ERRORS,
    error_responses,
    retrieve_responses,
)
from api.errors import APIError
from api.filters import QueryFilter, pagination_parameters, reject_unknown_params
from api.ownership import ensure_api_may_change
from api.serializers import (
    AssignNumberSerializer,
    AuditEventSerializer,
    ChangeLicenseSerializer,
    DecisionSerializer,
    LicenseUsageSerializer,
    MoveToOfficeSerializer,
    OfficeAvailabilitySerializer,
    OfficeSerializer,
    PendingChangeDetailSerializer,
    PendingChangeSerializer,
    PhoneNumberSerializer,
    ReactivateSerializer,
    UserSerializer,
)
from apikeys.models import APIKey, Scope
from approvals import services as approvals
from approvals.models import ChangeStatus, Operation, PendingChange
from members import services as members
from offices import selectors as office_selectors
from offices import services as office_services
from offices.models import NumberStatus, Office, PhoneNumber


def _company_office(request: Request, office_id: int, *, status: int) -> Office:
    company = request.auth.company if isinstance(request.auth, APIKey) else None
    office = Office.objects.filter(company=company, pk=office_id).first()
    if office is None:
        # The same words for an office of another company as for none at all.
        raise APIError(
            status,
            f"No office with id {office_id}.",
            code="not_found" if status == 404 else "invalid",
            field="office",
        )
    return office


def _refuse_body(request: Request) -> None:
    """Actions without a body accept none, or an empty JSON object."""
    if not isinstance(request.data, dict) or request.data:
        raise APIError(400, "This action takes no body (or an empty JSON object).", code="invalid")


def _usage_rows(company: Any) -> list[dict[str, Any]]:
    return [
        {
            "license_type": license_type,
            "label": str(LicenseType(license_type).label),
            "total": usage.total,
            "used": usage.used,
            "free": usage.free,
        }
        for license_type, usage in license_usage(company).items()
    ]


# --- users ---


def _search(queryset: QuerySet[Any], text: str, request: Request) -> QuerySet[Any]:
    for word in text.split()[:5]:
        queryset = queryset.filter(
            Q(email__icontains=word)
            | Q(given_name__icontains=word)
            | Q(family_name__icontains=word)
            | Q(display_name__icontains=word)
        )
    return queryset


def _needs_number(queryset: QuerySet[Any], wanted: bool, request: Request) -> QuerySet[Any]:
    needing = Q(status=UserStatus.ACTIVE, phone_number__isnull=True) & ~Q(license_type="")
    return queryset.filter(needing) if wanted else queryset.exclude(needing)


def _license(queryset: QuerySet[Any], value: str, request: Request) -> QuerySet[Any]:
    return queryset.filter(license_type="" if value == "none" else value)


USER_FILTERS = (
    QueryFilter(
        "office",
        "Users seated in this office (an office id).",
        lambda qs, office_id, request: qs.filter(
            office=_company_office(request, office_id, status=400)
        ),
        kind="id",
    ),
    QueryFilter(
        "license_type",
        "Users holding this license type (`none`: no license).",
        _license,
        kind="choice",
        choices=(*LicenseType.values, "none"),
    ),
    QueryFilter(
        "status",
        "active, suspended, or pending (created by the IdP, waiting for an approver).",
        lambda qs, value, request: qs.filter(status=value),
        kind="choice",
        choices=tuple(UserStatus.values),
    ),
    QueryFilter(
        "managed_by",
        "scim (the identity provider manages them) or manual.",
        lambda qs, value, request: qs.filter(managed_by=value),
        kind="choice",
        choices=tuple(ManagedBy.values),
    ),
    QueryFilter(
        "needs_number",
        "true: active, licensed users without a phone number; false: everyone else.",
        _needs_number,
        kind="bool",
    ),
    QueryFilter(
        "search",
        "Words that must each appear in the email or a name (case-insensitive).",
        _search,
    ),
)


@extend_schema_view(
    list=extend_schema(
        summary="List users",
        parameters=[item.parameter() for item in USER_FILTERS] + pagination_parameters(),
        responses={200: UserSerializer(many=True), **error_responses(*READ_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get a user",
        parameters=[IF_NONE_MATCH],
        responses=retrieve_responses(UserSerializer),
    ),
)
class UserViewSet(ETagRetrieveMixin, CompanyViewSet):
    """The company's people. Writes go through the same services as the admin and SCIM."""

    serializer_class = UserSerializer
    noun = "user"
    query_filters = USER_FILTERS

    def get_queryset(self) -> QuerySet[User]:
        return self.scoped(User.objects.select_related("office", "phone_number"))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _respond(self, user: User) -> Response:
        return Response(self.get_serializer(self.reload(user)).data)

    @extend_schema(
        summary="Suspend a user",
        description="The user can no longer sign in; their license seat and phone number are "
        "freed, and the record stays (findable by every filter). Users the identity provider "
        "manages are suspended there (409 `idp_owned`). The company's last active company "
        "admin cannot be suspended here (409).",
        request=None,
        responses={200: UserSerializer, **error_responses(*WRITE_ERRORS)},
    )
    @action(detail=True, methods=["post"], url_path="suspend")
    def suspend(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        _refuse_body(request)
        ensure_api_may_change(user, "active")
        if user.status == UserStatus.ACTIVE and user.role == Role.COMPANY_ADMIN:
            admins = User.objects.filter(
                company=self.company, role=Role.COMPANY_ADMIN, status=UserStatus.ACTIVE
            )
            if not admins.exclude(pk=user.pk).exists():
                raise Conflict(
                    f"{user.email} is the company's only active company admin: suspending them "
                    "would leave nobody to run Admin Settings. Make someone else a company "
                    "admin first."
                )
        members.suspend_member(user=user, actor=self.api_key, source=SOURCE)
        return self._respond(user)

    @extend_schema(
        summary="Reactivate a suspended user",
        description="The user can sign in again and gets a license seat back (the type given, "
        "else the one held before suspension) and a free number. No free seat: 409 "
        "`no_free_seats` and the user stays suspended. Users the identity provider manages are "
        "reactivated there (409 `idp_owned`).",
        request=ReactivateSerializer,
        responses={200: UserSerializer, **error_responses(*WRITE_ERRORS)},
    )
    @action(detail=True, methods=["post"], url_path="reactivate")
    def reactivate(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        body = ReactivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ensure_api_may_change(user, "active")
        members.reactivate_member(
            user=user,
            license_type=body.validated_data.get("license_type"),
            actor=self.api_key,
            source=SOURCE,
        )
        return self._respond(user)

    @extend_schema(
        summary="Move a user to another office",
        description="Seats the user in one of the company's offices. A number from the old "
        "office's pool goes back to it and the user gets one from the new office (keeping the "
        "area code when one is free there). Another company's office is a 404.",
        request=MoveToOfficeSerializer,
        responses={200: UserSerializer, **error_responses(*WRITE_ERRORS)},
    )
    @action(detail=True, methods=["post"], url_path="move_to_office")
    def move_to_office(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        body = MoveToOfficeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        office = _company_office(request, body.validated_data["office"], status=404)
        ensure_api_may_change(user, "office")
        office_services.move_user_to_office(
            user=user, office=office, actor=self.api_key, source=SOURCE
        )
        return self._respond(user)

    @extend_schema(
        summary="Change a user's license",
        description="Claims a seat of the type (the old one is freed). No free seat: 409 "
        "`no_free_seats`. For a suspended user the type is recorded for their reactivation.",
        request=ChangeLicenseSerializer,
        responses={200: UserSerializer, **error_responses(*WRITE_ERRORS)},
    )
    @action(detail=True, methods=["post"], url_path="change_license")
    def change_license(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        body = ChangeLicenseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ensure_api_may_change(user, "license_type")
        office_services.assign_license(
            user=user,
            license_type=body.validated_data["license_type"],
            actor=self.api_key,
            source=SOURCE,
        )
        return self._respond(user)

    @extend_schema(
        summary="Assign a phone number",
        description="With `number`: that free number of the company. With `area_code`: a free "
        "number of that area code (the office's pool first, then the company reserve). With "
        "neither: any free number for a user who has none. Nothing free: 409 "
        "`no_free_numbers`, and the user keeps what they had. Only active users hold numbers.",
        request=AssignNumberSerializer,
        responses={200: UserSerializer, **error_responses(*WRITE_ERRORS)},
    )
    @action(detail=True, methods=["post"], url_path="assign_number")
    def assign_number(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        body = AssignNumberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ensure_api_may_change(user, "phone_number")
        if user.status != UserStatus.ACTIVE:
            raise Conflict(
                f"{user.email} is {user.get_status_display().lower()}: only active users hold "
                "a phone number. Reactivate them first.",
                field=None,
            )
        number = body.validated_data.get("number")
        area_code = body.validated_data.get("area_code")
        if number:
            office_services.assign_specific_number(
                user=user, number=number, actor=self.api_key, source=SOURCE
            )
            return self._respond(user)
        held = office_services.assign_number(
            user=user, area_code=area_code, actor=self.api_key, source=SOURCE
        )
        held_code = held.area_code.code if held is not None and held.area_code else None
        if held is None or (area_code and held_code != area_code):
            where = f"with area code {area_code} " if area_code else ""
            office = user.office.name if user.office else "the company"
            kept = f" {user.email} keeps {held.formatted}." if held is not None else ""
            raise APIError(
                409,
                f"No free number {where}in {office}'s pool or the company reserve.{kept} Add "
                "numbers under Admin Settings › Offices & Numbers.",
                code="no_free_numbers",
                field="area_code" if area_code else None,
            )
        return self._respond(user)


# --- offices ---


@extend_schema_view(
    list=extend_schema(
        summary="List offices",
        description="With how many users sit in each and how many numbers it holds (and how "
        "many of those are free).",
        parameters=pagination_parameters(),
        responses={200: OfficeSerializer(many=True), **error_responses(*READ_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get an office",
        parameters=[IF_NONE_MATCH],
        responses=retrieve_responses(OfficeSerializer),
    ),
)
class OfficeViewSet(ETagRetrieveMixin, CompanyViewSet):
    serializer_class = OfficeSerializer
    noun = "office"

    def get_queryset(self) -> QuerySet[Office]:
        return office_selectors.with_counts(self.scoped(Office.objects.all()))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Licenses and numbers available to an office",
        description="Before a hiring wave: free seats per license type (seats are company-wide) "
        "and free numbers for the office (its own pool and the company reserve of its country), "
        "and how many new users of each license type it can take now.",
        parameters=[IF_NONE_MATCH],
        responses=retrieve_responses(OfficeAvailabilitySerializer),
    )
    @action(detail=True, methods=["get"], url_path="available_licenses")
    def available_licenses(self, request: Request, pk: str) -> Response:
        office = self.get_object()
        free = PhoneNumber.objects.filter(company=self.company, assigned_user__isnull=True)
        free_numbers = free.filter(office=office).count()
        free_reserve = free.filter(office__isnull=True, country=office.country).count()
        licenses = _usage_rows(self.company)
        data = {
            "office": {"id": office.pk, "name": office.name},
            "licenses": licenses,
            "free_numbers": free_numbers,
            "free_reserve_numbers": free_reserve,
            "can_onboard": {
                row["license_type"]: min(row["free"], free_numbers + free_reserve)
                for row in licenses
            },
        }
        return conditional_response(request, OfficeAvailabilitySerializer(data).data)


# --- numbers ---


def _number_office(queryset: QuerySet[Any], office_id: int, request: Request) -> QuerySet[Any]:
    return queryset.filter(office=_company_office(request, office_id, status=400))


def _number_status(queryset: QuerySet[Any], value: str, request: Request) -> QuerySet[Any]:
    return queryset.filter(assigned_user__isnull=value == NumberStatus.AVAILABLE)


NUMBER_FILTERS = (
    QueryFilter(
        "office", "Numbers in this office's pool (an office id).", _number_office, kind="id"
    ),
    QueryFilter(
        "reserve",
        "true: numbers in the company reserve (no office); false: numbers in an office.",
        lambda qs, value, request: qs.filter(office__isnull=value),
        kind="bool",
    ),
    QueryFilter(
        "area_code",
        "Numbers of this area code (digits, like 415).",
        lambda qs, value, request: qs.filter(area_code__code=value),
        max_length=8,
    ),
    QueryFilter(
        "country",
        "Numbers of this country (ISO 3166 alpha-2, like US).",
        lambda qs, value, request: qs.filter(country=value.upper()),
        max_length=2,
    ),
    QueryFilter(
        "status",
        "available (free) or assigned.",
        _number_status,
        kind="choice",
        choices=tuple(NumberStatus.values),
    ),
)


@extend_schema_view(
    list=extend_schema(
        summary="List phone numbers",
        parameters=[item.parameter() for item in NUMBER_FILTERS] + pagination_parameters(),
        responses={200: PhoneNumberSerializer(many=True), **error_responses(*READ_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get a phone number",
        parameters=[IF_NONE_MATCH],
        responses=retrieve_responses(PhoneNumberSerializer),
    ),
)
class PhoneNumberViewSet(ETagRetrieveMixin, CompanyViewSet):
    serializer_class = PhoneNumberSerializer
    noun = "phone number"
    query_filters = NUMBER_FILTERS

    def get_queryset(self) -> QuerySet[PhoneNumber]:
        return self.scoped(
            PhoneNumber.objects.select_related("office", "area_code", "assigned_user")
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- licenses ---


class LicenseViewSet(CompanyViewSet):
    pagination_class = None  # type: ignore[assignment]

    @extend_schema(
        summary="License usage per type",
        description="Seats bought, in use (held by active users) and free, per license type.",
        responses={200: LicenseUsageSerializer(many=True), **error_responses(*READ_ERRORS)},
    )
    def list(self, request: Request) -> Response:
        return Response(LicenseUsageSerializer(_usage_rows(self.company), many=True).data)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        reject_unknown_params(request, ())


# --- audit events ---


def _action_filter(queryset: QuerySet[Any], value: str, request: Request) -> QuerySet[Any]:
    # "user." (a trailing dot) is every action of that kind.
    if value.endswith("."):
        return queryset.filter(action__startswith=value)
    return queryset.filter(action=value)


AUDIT_FILTERS = (
    QueryFilter(
        "action",
        "One action (`user.office_changed`), or every action of a kind with a trailing dot "
        "(`user.`).",
        _action_filter,
        max_length=100,
    ),
    QueryFilter(
        "source",
        "Where the change came from.",
        lambda qs, value, request: qs.filter(source=value),
        kind="choice",
        choices=tuple(Source.values),
    ),
    QueryFilter(
        "actor_kind",
        "Who acted: a user, an API key, the system, or an unauthenticated client.",
        lambda qs, value, request: qs.filter(actor_kind=value),
        kind="choice",
        choices=("user", "api_key", "system", "client"),
    ),
    QueryFilter(
        "target_type",
        "The kind of object changed, like accounts.user or offices.phonenumber.",
        lambda qs, value, request: qs.filter(target_type=value),
        max_length=100,
    ),
    QueryFilter(
        "target_id",
        "The id of the object changed (with target_type).",
        lambda qs, value, request: qs.filter(target_id=value),
        max_length=100,
    ),
    QueryFilter(
        "request_id",
        "Every change one request made (the X-Request-ID of its response).",
        lambda qs, value, request: qs.filter(request_id=value),
        max_length=64,
    ),
    QueryFilter(
        "since",
        "Events at or after this moment (ISO 8601; UTC when no offset is given).",
        lambda qs, value, request: qs.filter(created_at__gte=value),
        kind="datetime",
    ),
    QueryFilter(
        "until",
        "Events before this moment (ISO 8601).",
        lambda qs, value, request: qs.filter(created_at__lt=value),
        kind="datetime",
    ),
    QueryFilter(
        "after_id",
        "Events newer than this event id: poll with the last id you stored (with order=asc).",
        lambda qs, value, request: qs.filter(pk__gt=value),
        kind="id",
    ),
    QueryFilter(
        "order",
        "desc (newest first, the default) or asc (oldest first: for exports and polling).",
        lambda qs, value, request: qs,
        kind="choice",
        choices=("desc", "asc"),
    ),
)


@extend_schema_view(
    list=extend_schema(
        summary="List audit events",
        description="The company's audit log, for export into a SIEM: every change with who "
        "(actor), how (source), what (target, before/after) and the request id. Cursor "
        "pagination is stable while new events arrive; to poll, store the last id you read and "
        "ask for `order=asc&after_id=<it>`.",
        parameters=[item.parameter() for item in AUDIT_FILTERS] + pagination_parameters(),
        responses={200: AuditEventSerializer(many=True), **error_responses(*READ_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get an audit event",
        parameters=[IF_NONE_MATCH],
        responses=retrieve_responses(AuditEventSerializer),
    ),
)
class AuditEventViewSet(ETagRetrieveMixin, CompanyViewSet):
    serializer_class = AuditEventSerializer
    noun = "audit event"
    query_filters = AUDIT_FILTERS

    @property
    def cursor_ordering(self) -> str:
        return "id" if self.request.query_params.get("order") == "asc" else "-id"

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return self.scoped(AuditEvent.objects.all())

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- pending changes (the approval queue) ---


PENDING_FILTERS = (
    QueryFilter(
        "status",
        "pending (waiting for a decision), approved, applied, failed, rejected or expired.",
        lambda qs, value, request: qs.filter(status=value),
        kind="choice",
        choices=tuple(ChangeStatus.values),
    ),
    QueryFilter(
        "operation",
        "create, update or delete.",
        lambda qs, value, request: qs.filter(operation=value),
        kind="choice",
        choices=tuple(Operation.values),
    ),
    QueryFilter(
        "user",
        "Changes about this user (a user id).",
        lambda qs, value, request: qs.filter(user_id=value),
        kind="id",
    ),
)


@extend_schema_view(
    list=extend_schema(
        summary="List pending changes",
        description="SCIM changes the company's provisioning policy holds for an approver, "
        "newest first, with what happened to them.",
        parameters=[item.parameter() for item in PENDING_FILTERS] + pagination_parameters(),
        responses={200: PendingChangeSerializer(many=True), **error_responses(*READ_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get a pending change with its diff",
        parameters=[IF_NONE_MATCH],
        responses=retrieve_responses(PendingChangeDetailSerializer),
    ),
)
class PendingChangeViewSet(ETagRetrieveMixin, CompanyViewSet):
    noun = "pending change"
    query_filters = PENDING_FILTERS
    cursor_ordering = "-id"
    required_scopes = {"approve": Scope.API_APPROVE, "reject": Scope.API_APPROVE}

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return PendingChangeSerializer
        return PendingChangeDetailSerializer

    def get_queryset(self) -> QuerySet[PendingChange]:
        return self.scoped(PendingChange.objects.select_related("user", "reviewed_by"))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _decide(self, request: Request, decide: Any) -> Response:
        change = self.get_object()
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decide(
            change=change,
            actor=self.api_key,
            source=SOURCE,
            comment=body.validated_data.get("comment", ""),
        )
        return Response(self.get_serializer(self.reload(change)).data)

    @extend_schema(
        summary="Approve a pending change",
        description="Needs the `api:approve` scope; the audit log records the key as the "
        "approver. The change applies right after (in its user's arrival order). A change "
        "already decided is a 409 `already_decided`, and nothing changes.",
        request=DecisionSerializer,
        responses={200: PendingChangeDetailSerializer, **error_responses(*WRITE_ERRORS)},
    )
    @action(detail=True, methods=["post"], url_path="approve")
    def approve(self, request: Request, pk: str) -> Response:
        return self._decide(request, approvals.approve_change)

    @extend_schema(
        summary="Reject a pending change",
        description="Needs the `api:approve` scope. Discards the change; a rejected create "
        "removes the reserved user. A change already decided is a 409 `already_decided`.",
        request=DecisionSerializer,
        responses={200: PendingChangeDetailSerializer, **error_responses(*WRITE_ERRORS)},
    )
    @action(detail=True, methods=["post"], url_path="reject")
    def reject(self, request: Request, pk: str) -> Response:
        return self._decide(request, approvals.reject_change)
