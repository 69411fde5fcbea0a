"""Tokens: login, refresh, revoke-access, revoke-refresh and logout-all, under /api/user/ in the
`accounts-api` namespace (blahaj/urls.py). Views validate, call a service, answer."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken

from blahaj.schema import TOKEN_REFUSED as _401
from blahaj.schema import ErrorSerializer as ERROR
from blahaj.schema import StatusSerializer
from blahaj.throttling import throttles
from blahaj.views import SUCCESS, PublicView, validated
from observability.client_ip import client_ip

from . import serializers, services
from .authentication import signed_in_user
from .throttling import CountsFailedLogins


def _bearer(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


class LoginView(CountsFailedLogins, PublicView):
    """Limited per IP on failed attempts only (a front end's server logs in for each sign-up)."""

    @extend_schema(
        request=serializers.LoginSerializer,
        responses={
            200: OpenApiResponse(
                serializers.TokenPairSerializer,
                description="The tokens; or, for an account with TOTP, the second step's "
                '`{"mfa_required": true, "mfa_token", "mfa_expires_in", "methods"}` (no tokens yet)',
            ),
            400: ERROR,
            401: OpenApiResponse(ERROR, description="invalid_credentials"),
            403: OpenApiResponse(ERROR, description="email_unconfirmed, approval_pending, account_disabled"),
            429: OpenApiResponse(ERROR, description="too_many_attempts or throttled"),
        },
        summary="Log in with a username or an email",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.LoginSerializer, request)
        result = services.user_login(
            identifier=data["identifier"],
            password=data["password"],
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return Response(result)


class RefreshView(PublicView):
    throttle_classes = throttles("login")

    @extend_schema(
        request=serializers.RefreshInputSerializer,
        responses={200: serializers.RefreshOutputSerializer, 401: _401},
        summary="A new access token from a refresh token (header or body)",
    )
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}  # the parser admits objects only
        raw = _bearer(request) or body.get("refresh")
        if not isinstance(raw, str) or not raw:
            raise InvalidToken(_("A refresh token is required."))
        return Response(services.token_refresh(raw_refresh=raw))


class RevokeRefreshView(PublicView):
    throttle_classes = throttles("login")  # takes a token unauthenticated, like refresh

    @extend_schema(
        request=None,
        responses={200: serializers.StatusMessageSerializer, 401: _401},
        summary="Revoke the refresh token given as Bearer",
    )
    def delete(self, request: Request) -> Response:
        raw = _bearer(request)
        if not raw:
            raise InvalidToken(_("A refresh token is required."))
        services.token_revoke_refresh(raw_refresh=raw)
        return Response({"status": "success", "message": _("Refresh token revoked!")})


class RevokeAccessView(APIView):
    permission_classes = [IsAuthenticated]
    admits_staff_without_mfa = True
    admits_service_accounts = True

    @extend_schema(
        request=None,
        responses={200: serializers.StatusMessageSerializer, 401: _401},
        summary="Revoke the access token given as Bearer",
    )
    def delete(self, request: Request) -> Response:
        services.token_revoke_access(token=request.auth)
        return Response({"status": "success", "message": _("Access token revoked!")})


class LogoutAllView(APIView):
    permission_classes = [IsAuthenticated]
    admits_staff_without_mfa = True
    admits_service_accounts = True

    @extend_schema(
        request=None,
        responses={200: StatusSerializer, 401: _401},
        summary="Revoke every token of the caller",
    )
    def post(self, request: Request) -> Response:
        services.user_revoke_all_tokens(user=signed_in_user(request))
        return Response(SUCCESS)
