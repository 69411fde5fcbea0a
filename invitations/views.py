"""`/api/invitations/`: staff invite anyone; members (REFERRALS_USER_CODES) invite within their
tier's cap and a per-member rate limit. Thin: validate, call one service, answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from blahaj.errors import ValidationFailed
from blahaj.filters import refuse_invalid_values
from blahaj.lookups import ID_PATTERN
from blahaj.schema import ErrorSerializer as ERROR
from blahaj.views import validated

from . import serializers as io
from . import services
from .models import Invitation

if TYPE_CHECKING:
    from accounts.models import User

STATES: dict[str, Callable[[], Q]] = {
    "pending": lambda: Q(used_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=timezone.now()),
    "used": lambda: Q(used_at__isnull=False),
    "cancelled": lambda: Q(cancelled_at__isnull=False),
    "expired": lambda: Q(used_at__isnull=True, cancelled_at__isnull=True, expires_at__lte=timezone.now()),
}


class CanInvite(permissions.BasePermission):
    message = gettext_lazy("Only staff send invitations.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.is_staff or settings.REFERRALS_USER_CODES)


class MemberInviteThrottle(SimpleRateThrottle):
    """Invitations sent per member (staff are not limited): a flood answers 429."""

    scope = "invite"

    def get_rate(self) -> str | None:
        # Read at request time, so that settings overrides apply.
        from rest_framework.settings import api_settings

        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate is not None else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.method != "POST" or getattr(view, "action", None) != "create" or request.user.is_staff:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


_409 = OpenApiResponse(ERROR, description="email_taken (an account uses the address) or invalid_status")


@extend_schema_view(
    list=extend_schema(
        summary="Invitations: staff see all, a member their own",
        parameters=[OpenApiParameter("state", enum=list(STATES))],
    ),
    retrieve=extend_schema(summary="One invitation"),
    create=extend_schema(
        request=io.InvitationCreateSerializer,
        responses={
            201: io.InvitationSerializer,
            400: ERROR,
            403: ERROR,
            409: _409,
            429: OpenApiResponse(ERROR, description="invitation_limit (the tier's cap) or the rate limit"),
        },
        summary="Invite an email address to sign up (the link is mailed)",
    ),
    destroy=extend_schema(responses={204: None, 409: _409}, summary="Cancel a pending invitation"),
)
class InvitationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    lookup_value_regex = ID_PATTERN
    serializer_class = io.InvitationSerializer
    permission_classes = [CanInvite]
    throttle_classes = [MemberInviteThrottle]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if unknown := sorted(set(request.query_params) - {"page", "state"}):
            raise ValidationFailed(_("Unknown query parameter."), fields={unknown[0]: [_("Unknown.")]})
        state = request.query_params.get("state")
        if state is not None and state not in STATES:
            one_of = _("One of: %(values)s.") % {"values": ", ".join(STATES)}
            raise ValidationFailed(_("Unknown state."), fields={"state": [one_of]})
        refuse_invalid_values(request, self)
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        state = self.request.query_params.get("state") if self.action == "list" else None
        return queryset.filter(STATES[state]()) if state else queryset

    def get_queryset(self) -> QuerySet[Invitation]:
        queryset = Invitation.objects.select_related("inviter", "invitee", "referral_code__tier")
        if getattr(self, "swagger_fake_view", False) or self.request.user.is_staff:
            return queryset
        return queryset.filter(inviter=cast("User", self.request.user))

    def create(self, request: Request) -> Response:
        data = validated(io.InvitationCreateSerializer, request)
        invitation = services.invitation_create(inviter=cast("User", request.user), **data)
        return Response(io.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Invitation) -> None:
        services.invitation_cancel(invitation=instance)

    @extend_schema(request=None, responses={200: io.InvitationSerializer, 409: _409}, summary="Cancel (as DELETE)")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        invitation = services.invitation_cancel(invitation=self.get_object())
        return Response(io.InvitationSerializer(invitation).data)
