"""`/api/tiers/` and `/api/referral-codes/`: thin views over tiers.services."""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, status, viewsets
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from blahaj.permissions import IsStaff
from blahaj.schema import ErrorSerializer
from blahaj.views import validated

from . import services
from .models import ReferralCode, Tier
from .serializers import MemberReferralCodeSerializer, ReferralCodeSerializer, TierSerializer

_Row = TypeVar("_Row", Tier, ReferralCode)


def _conflict(codes: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=codes)


def _instance(serializer: BaseSerializer[_Row]) -> _Row:
    """The row an update's serializer was built around (UpdateModelMixin always gives one)."""
    if serializer.instance is None:
        raise AssertionError("an update's serializer has its instance")
    return serializer.instance


_TIER_WRITE = {409: _conflict("slug_taken, default_tier_required (the default flag cannot be taken off)")}
_CODE_WRITE = {409: _conflict("code_taken")}


class ReadAnyoneWriteStaff(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return IsStaff().has_permission(request, view)


@extend_schema_view(
    # Public: the sign-up page reads them without a token.
    list=extend_schema(auth=[]),
    retrieve=extend_schema(auth=[]),
    create=extend_schema(responses={201: TierSerializer, 409: _conflict("slug_taken")}),
    update=extend_schema(responses={200: TierSerializer, **_TIER_WRITE}),
    partial_update=extend_schema(responses={200: TierSerializer, **_TIER_WRITE}),
    destroy=extend_schema(
        responses={204: None, 409: _conflict("tier_in_use (with the number of users), default_tier_required")}
    ),
)
class TierViewSet(viewsets.ModelViewSet):
    """Tiers: anyone reads them (the sign-up page shows them), staff change them."""

    queryset = Tier.objects.order_by("slug")
    serializer_class = TierSerializer
    permission_classes = [ReadAnyoneWriteStaff]
    lookup_field = "slug"

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.tier_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Tier]) -> None:
        services.tier_update(tier=_instance(serializer), data=serializer.validated_data)

    def perform_destroy(self, instance: Tier) -> None:
        services.tier_delete(tier=instance)


class ReferralCodePermission(permissions.BasePermission):
    """Staff: everything. Members: list, read and create their own, if REFERRALS_USER_CODES."""

    message = _("Only staff manage referral codes.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.user.is_staff:
            return True
        return settings.REFERRALS_USER_CODES and view.action in ("list", "retrieve", "create")


@extend_schema_view(
    create=extend_schema(
        responses={201: ReferralCodeSerializer, 409: _conflict("code_taken, referral_code_limit (a member's cap)")}
    ),
    update=extend_schema(responses={200: ReferralCodeSerializer, **_CODE_WRITE}),
    partial_update=extend_schema(responses={200: ReferralCodeSerializer, **_CODE_WRITE}),
    destroy=extend_schema(responses={204: None, 409: _conflict("code_in_use: deactivate a used code instead")}),
)
class ReferralCodeViewSet(viewsets.ModelViewSet):
    serializer_class = ReferralCodeSerializer
    permission_classes = [ReferralCodePermission]
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[ReferralCode]:
        queryset = ReferralCode.objects.select_related("tier", "owner").order_by("-created_at", "-id")
        if getattr(self, "swagger_fake_view", False) or self.request.user.is_staff:
            return queryset
        user = self.request.user
        if not isinstance(user, get_user_model()):  # the permission has refused anonymous callers
            raise NotAuthenticated()
        return queryset.filter(owner=user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.user.is_staff:
            return super().create(request, *args, **kwargs)
        data = validated(MemberReferralCodeSerializer, request)
        code = services.referral_code_create_for_member(user=request.user, **data)
        return Response(ReferralCodeSerializer(code).data, status=status.HTTP_201_CREATED)

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.referral_code_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[ReferralCode]) -> None:
        serializer.instance = services.referral_code_update(
            referral_code=_instance(serializer), data=serializer.validated_data
        )

    def perform_destroy(self, instance: ReferralCode) -> None:
        services.referral_code_delete(referral_code=instance)
