"""The staff user API, `/api/users/` (lookup: username; docs/api.md §3). Staff only: a member's
token gets 403. Each verb calls one service, the same the legacy route and the admin use."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts import services as account_services
from accounts.models import User
from blahaj.permissions import IsStaff
from blahaj.schema import ErrorSerializer as ERROR
from blahaj.schema import StatusSerializer
from blahaj.views import validated
from deletion import services as deletion
from logins.authentication import signed_in_user

from . import serializers as io
from . import services

SUCCESS = {"status": "success"}
_409 = OpenApiResponse(ERROR, description="invalid_status: the account is not in a state that allows it")


@extend_schema_view(
    list=extend_schema(
        summary="Accounts, paginated",
        parameters=[
            OpenApiParameter("search", description="In username, display name, email and Discord name"),
            OpenApiParameter("status", enum=User.Status.values),
            OpenApiParameter("tier", description="A tier's slug"),
            OpenApiParameter("ordering", enum=io.ORDERINGS),
        ],
    ),
    retrieve=extend_schema(summary="One account"),
    create=extend_schema(
        request=io.StaffUserCreateSerializer,
        responses={
            201: io.StaffUserSerializer,
            400: ERROR,
            409: OpenApiResponse(ERROR, description="username_taken, email_taken"),
        },
        summary="Create an account (as /create_user): YunoHost queued, a choose-your-password email sent",
    ),
    partial_update=extend_schema(
        request=io.StaffUserUpdateSerializer,
        responses={
            200: io.StaffUserSerializer,
            400: ERROR,
            409: OpenApiResponse(
                ERROR, description="email_taken, last_superuser (disabling the last active superuser)"
            ),
        },
        summary="Change display name, email, Discord name, or disable / enable the account",
    ),
    destroy=extend_schema(
        responses={
            202: StatusSerializer,
            409: OpenApiResponse(ERROR, description="cannot_delete_self, last_superuser"),
        },
        summary="Delete the account: shut out at once; its websites, then its YunoHost user, then the row go",
    ),
)
class StaffUserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsStaff]
    serializer_class = io.StaffUserSerializer
    filter_serializer_class = io.StaffUserFilterSerializer
    lookup_field = "username"
    lookup_value_regex = r"[^/]+"  # usernames may hold dots
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[User]:
        queryset = User.objects.select_related("tier", "server")
        if self.action != "list":
            return queryset
        filters = validated(self.filter_serializer_class, self.request, data=self.request.query_params)
        return _filtered(queryset, **filters)

    def create(self, request: Request) -> Response:
        data = validated(io.StaffUserCreateSerializer, request)
        user = account_services.user_create_by_staff(**data, actor=signed_in_user(request))
        return Response(io.StaffUserSerializer(user).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, username: str) -> Response:
        user = self.get_object()
        changes = validated(io.StaffUserUpdateSerializer, request)
        new_status = changes.pop("status", None)
        account_services.user_update(user=user, **changes)
        if new_status is not None:
            services.user_set_status(user=user, status=new_status)
        return Response(io.StaffUserSerializer(user).data)

    def destroy(self, request: Request, username: str) -> Response:
        # The erasure a member's own deletion goes through: websites first, then YunoHost.
        deletion.user_delete_by_staff(user=self.get_object(), actor=signed_in_user(request))
        return Response(SUCCESS, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=io.StaffUserTierSerializer,
        responses={200: io.StaffUserSerializer, 400: OpenApiResponse(ERROR, description="invalid: unknown tier")},
        summary="Move the account to another tier; its mailbox quota goes to YunoHost through the lane",
    )
    @action(detail=True, methods=["put"], url_path="tier")
    def tier(self, request: Request, username: str) -> Response:
        user = self.get_object()
        data = validated(io.StaffUserTierSerializer, request)
        account_services.user_set_tier(user=user, tier=data["tier"])
        return Response(io.StaffUserSerializer(user).data)

    @extend_schema(request=None, responses={202: StatusSerializer, 409: _409}, summary="Mail the owner a reset link")
    @action(detail=True, methods=["post"], url_path="send-reset")
    def send_reset(self, request: Request, username: str) -> Response:
        account_services.user_send_password_reset(user=self.get_object())
        return Response(SUCCESS, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: io.StaffUserSerializer, 409: _409},
        summary="Approve a sign-up: provisioning starts",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, username: str) -> Response:
        user = self.get_object()
        account_services.user_approve(user=user)
        return Response(io.StaffUserSerializer(user).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=io.RejectSerializer,
        responses={200: StatusSerializer, 409: _409},
        summary="Reject a sign-up: the applicant is told, the account deleted",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, username: str) -> Response:
        user = self.get_object()
        data = validated(io.RejectSerializer, request)
        account_services.user_reject(user=user, reason=data["reason"])
        return Response(SUCCESS)


_ORDERINGS = {name: [name, "username"] if name.lstrip("-") != "username" else [name] for name in io.ORDERINGS}


def _filtered(
    queryset: QuerySet[User], *, search: str = "", status: str = "", tier: str = "", ordering: str = "username"
) -> QuerySet[User]:
    queryset = selectors.users_matching(queryset, search)
    if status:
        queryset = queryset.filter(status=status)
    if tier:
        queryset = queryset.filter(tier__slug=tier)
    return queryset.order_by(*_ORDERINGS[ordering])
