"""The second factor over the API: the login's second step and the set-up routes
(docs/api.md "Second factor"). Views validate, call a service, answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.views.base import _LOCKED, ERROR, _401
from blahaj.throttling import throttles
from blahaj.views import PublicView, validated
from logins import tokens
from logins.authentication import signed_in_user
from logins.throttling import CountsFailedLogins
from observability.client_ip import client_ip

from .. import devices, serializers, services

_CODE = OpenApiResponse(ERROR, description="invalid_code (the code is wrong or was already used)")


class LoginMFAView(CountsFailedLogins, PublicView):
    @extend_schema(
        request=serializers.LoginMFASerializer,
        responses={
            200: serializers.TokenPairSerializer,
            400: OpenApiResponse(ERROR, description="token_invalid: unknown or used mfa_token"),
            401: OpenApiResponse(ERROR, description="invalid_code"),
            410: OpenApiResponse(ERROR, description="token_expired: log in again"),
            429: _LOCKED,
        },
        summary="The login's second step: the mfa_token and a TOTP or recovery code, for the tokens",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.LoginMFASerializer, request)
        return Response(
            services.user_login_mfa(
                mfa_token=data["mfa_token"],
                code=data["code"],
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        )


class MFASetupView(APIView):
    """Open to any signed-in account, staff without a second factor included."""

    permission_classes = [IsAuthenticated]
    admits_staff_without_mfa = True
    throttle_classes = throttles("login")


class TOTPView(MFASetupView):
    @extend_schema(
        responses={200: serializers.MFAStatusSerializer, 401: _401},
        summary="Whether the caller has TOTP, and must keep it",
    )
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        return Response(
            {
                "totp": devices.has_totp(user),
                "mandatory": devices.staff_must_have_it(user),
                "token_has_second_factor": tokens.has_second_factor(request.auth),
            }
        )

    @extend_schema(
        request=None,
        responses={
            200: serializers.TOTPEnrolmentSerializer,
            401: _401,
            409: OpenApiResponse(ERROR, description="mfa_already_set_up"),
        },
        summary="Begin setting up TOTP: a new secret, its otpauth URL and QR code (confirm it next)",
    )
    def post(self, request: Request) -> Response:
        enrolment = services.totp_begin(user=signed_in_user(request))
        return Response({"secret": enrolment.secret, "otpauth_url": enrolment.otpauth_url, "qr_svg": enrolment.qr_svg})

    @extend_schema(
        request=serializers.MFARemoveSerializer,
        responses={
            204: None,
            400: _CODE,
            401: _401,
            403: OpenApiResponse(ERROR, description="mfa_required_for_staff"),
            409: OpenApiResponse(ERROR, description="mfa_not_set_up"),
            429: _LOCKED,
        },
        summary="Turn TOTP off (a current code or the password); staff may not while it is required",
    )
    def delete(self, request: Request) -> Response:
        data = validated(serializers.MFARemoveSerializer, request)
        services.totp_remove(
            user=signed_in_user(request),
            code=data.get("code", ""),
            password=data.get("password", ""),
        )
        return Response(status=204)


class TOTPConfirmView(MFASetupView):
    @extend_schema(
        request=serializers.MFACodeSerializer,
        responses={
            200: serializers.TOTPConfirmedSerializer,
            400: _CODE,
            401: _401,
            409: OpenApiResponse(ERROR, description="mfa_not_started"),
            429: _LOCKED,
        },
        summary="Confirm TOTP with a code: recovery codes (shown once) and new tokens; older tokens die",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.MFACodeSerializer, request)
        return Response(services.totp_confirm(user=signed_in_user(request), code=data["code"]))


class RecoveryCodesView(MFASetupView):
    @extend_schema(
        request=serializers.MFACodeSerializer,
        responses={
            200: serializers.RecoveryCodesSerializer,
            400: _CODE,
            401: _401,
            409: OpenApiResponse(ERROR, description="mfa_not_set_up"),
            429: _LOCKED,
        },
        summary="New recovery codes for a current code; the old ones stop working",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.MFACodeSerializer, request)
        codes = services.recovery_codes_renew(user=signed_in_user(request), code=data["code"])
        return Response({"recovery_codes": codes})
