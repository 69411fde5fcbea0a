"""GET and PATCH /api/user/me: the caller's account. (The tokens' routes are the logins app's.)"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blahaj.schema import ErrorSerializer
from blahaj.views import validated
from logins.authentication import signed_in_user

from .. import serializers, services
from .base import _401


class MeView(APIView):
    permission_classes = [IsAuthenticated]
    admits_staff_without_mfa = True
    admits_service_accounts = True

    @extend_schema(responses={200: serializers.MeSerializer, 401: _401}, summary="The caller's account")
    def get(self, request: Request) -> Response:
        return Response(serializers.MeSerializer(request.user).data)

    @extend_schema(
        request=serializers.MeUpdateSerializer,
        responses={200: serializers.MeSerializer, 400: ErrorSerializer, 401: _401},
        summary="Change the caller's language",
    )
    def patch(self, request: Request) -> Response:
        data = validated(serializers.MeUpdateSerializer, request)
        services.user_set_language(user=signed_in_user(request), language=data["language"])
        return Response(serializers.MeSerializer(request.user).data)
