"""GET /api/user/me: the caller's account. (The tokens' routes are the logins app's.)"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import serializers
from .base import _401


class MeView(APIView):
    permission_classes = [IsAuthenticated]
    admits_staff_without_mfa = True
    admits_service_accounts = True

    @extend_schema(responses={200: serializers.MeSerializer, 401: _401}, summary="The caller's account")
    def get(self, request: Request) -> Response:
        return Response(serializers.MeSerializer(request.user).data)
