"""A member deletes their own account (docs/api.md §1b). Thin: validate, call one service, answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.views.base import _LOCKED, ERROR, _401, _429
from blahaj.schema import StatusSerializer
from blahaj.throttling import throttles
from blahaj.views import SUCCESS, PublicView, validated
from logins.authentication import signed_in_user

from . import serializers as io
from . import services as deletion


class DeleteView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=io.DeleteRequestSerializer,
        responses={
            202: io.DeleteScheduledSerializer,
            400: OpenApiResponse(ERROR, description="invalid_credentials (wrong password), or `fields`"),
            401: _401,
            409: OpenApiResponse(ERROR, description="cannot_delete_self (a staff account)"),
            429: _LOCKED,
        },
        summary="Schedule the caller's account deletion; every token dies, a cancel link is emailed",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.DeleteRequestSerializer, request)
        deletes_at = deletion.user_request_deletion(user=signed_in_user(request), password=data["password"])
        body = io.DeleteScheduledSerializer({"deletes_at": deletes_at}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class DeleteCancelView(PublicView):
    throttle_classes = throttles("lookup")

    @extend_schema(
        request=io.DeleteCancelSerializer,
        responses={
            200: StatusSerializer,
            400: OpenApiResponse(ERROR, description="token_invalid (unknown or used)"),
            410: OpenApiResponse(ERROR, description="token_expired (the deletion is due)"),
            429: _429,
        },
        summary="Cancel a pending deletion with the emailed token",
    )
    def post(self, request: Request) -> Response:
        deletion.user_cancel_deletion(token=validated(io.DeleteCancelSerializer, request)["token"])
        return Response(SUCCESS)
