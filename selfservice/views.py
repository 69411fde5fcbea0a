"""Members' self-service API (docs/api.md §1b): change the password or the email address,
list and end login sessions. Signed in with `Bearer <access>`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import Token

from accounts.views.base import _LOCKED, ERROR, _401
from blahaj.views import SUCCESS, validated
from logins import tokens
from logins.authentication import signed_in_user

from . import serializers as io
from . import services


def _session_of(request: Request) -> str | None:
    return tokens.session_of(request.auth) if isinstance(request.auth, Token) else None


class ChangePasswordView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=io.ChangePasswordSerializer,
        responses={
            200: io.ChangePasswordResultSerializer,
            400: OpenApiResponse(ERROR, description="invalid_credentials (wrong current password), password_too_weak"),
            401: _401,
            429: _LOCKED,
        },
        summary="Change the password (fresh tokens for this session; every other session ends)",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.ChangePasswordSerializer, request)
        fresh = services.user_change_password(
            user=signed_in_user(request),
            current_password=data["current_password"],
            new_password=data["new_password"],
            session_id=_session_of(request),
            factors=tokens.factors_of(request.auth),
        )
        return Response({**SUCCESS, **fresh})


class ChangeEmailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=io.ChangeEmailSerializer,
        responses={
            202: OpenApiResponse(description='{"status": "pending"}: a link to the new address confirms it'),
            400: OpenApiResponse(ERROR, description="invalid_credentials, invalid (fields), email_domain_blocked"),
            401: _401,
            409: OpenApiResponse(ERROR, description="email_taken"),
            429: _LOCKED,
        },
        summary="Ask to change the email address (confirmed by a link to the new one)",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.ChangeEmailSerializer, request)
        services.user_request_email_change_screened(
            user=signed_in_user(request), email=data["email"], password=data["password"]
        )
        return Response({"status": "pending"}, status=status.HTTP_202_ACCEPTED)


class SessionListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: io.SessionSerializer(many=True), 401: _401},
        summary="The caller's live login sessions (`current`: the one this token belongs to)",
    )
    def get(self, request: Request) -> Response:
        sessions = services.sessions_list(user=signed_in_user(request))
        context = {"current": _session_of(request)}
        return Response(io.SessionSerializer(sessions, many=True, context=context).data)


class SessionDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: None, 401: _401, 404: OpenApiResponse(ERROR, description="not_found")},
        summary="End one of the caller's sessions: its refresh token and access tokens die at once",
    )
    def delete(self, request: Request, session_id: str) -> Response:
        services.session_end(user=signed_in_user(request), session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
