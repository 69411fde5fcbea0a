"""Password reset: request-reset and confirm-reset. Thin: validate, call one service, answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from blahaj.schema import StatusSerializer
from blahaj.throttling import throttles
from blahaj.views import SUCCESS, PublicView, validated

from .. import serializers_registration as io
from .. import services
from .base import ERROR, _429


class RequestResetView(PublicView):
    throttle_classes = throttles("email")

    @extend_schema(
        request=io.RequestResetSerializer,
        responses={200: StatusSerializer, 400: ERROR, 429: _429},
        summary="Mail a password reset link (same answer whether or not the account exists)",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.RequestResetSerializer, request)
        services.user_request_password_reset(identifier=data["identifier"])
        return Response(SUCCESS)


class ConfirmResetView(PublicView):
    throttle_classes = throttles("lookup")

    @extend_schema(
        request=io.ConfirmResetSerializer,
        responses={
            200: StatusSerializer,
            400: OpenApiResponse(ERROR, description="token_invalid, or `fields` (weak password)"),
            410: OpenApiResponse(ERROR, description="token_expired"),
            429: _429,
        },
        summary="Set a new password with a reset token; every token of the user dies",
    )
    def post(self, request: Request) -> Response:
        services.user_confirm_password_reset(**validated(io.ConfirmResetSerializer, request))
        return Response(SUCCESS)
