"""Registration: email-exists, password-strength, register, resend-confirm and confirm.
Thin: validate, call one service, answer."""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from blahaj.errors import ApplicationError
from blahaj.pages import too_many_requests
from blahaj.schema import StatusSerializer
from blahaj.throttling import throttles
from blahaj.views import SUCCESS, PublicView, validated
from defences import services as defences
from observability.client_ip import client_ip

from .. import screening, selectors, services
from .. import serializers_registration as io
from .base import ERROR, _429


class EmailExistsView(PublicView):
    throttle_classes = throttles("lookup")

    @extend_schema(
        request=io.EmailSerializer,
        responses={200: io.EmailExistsSerializer, 400: ERROR, 429: _429},
        summary="Is this recovery email already used? (case-insensitive)",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.EmailSerializer, request)
        return Response({"exists": selectors.user_email_exists(email=data["email"])})


class PasswordStrengthView(PublicView):
    throttle_classes = throttles("lookup")

    @extend_schema(
        request=io.PasswordStrengthInputSerializer,
        responses={200: io.PasswordStrengthSerializer, 400: ERROR, 429: _429},
        summary="Would `register` accept this password? Score and hints",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.PasswordStrengthInputSerializer, request)
        return Response(asdict(selectors.password_strength_for(**data)))


class RegisterView(PublicView):
    throttle_classes = throttles("register")

    @extend_schema(
        request=io.RegisterSerializer,
        responses={
            201: StatusSerializer,
            400: OpenApiResponse(ERROR, description="`fields`, referral_code_invalid or challenge_failed"),
            403: OpenApiResponse(ERROR, description="registration_closed"),
            409: OpenApiResponse(ERROR, description="username_taken, email_taken"),
            429: _429,
        },
        summary="Sign up; a confirmation email is sent",
    )
    def post(self, request: Request) -> Response:
        fields = validated(io.RegisterSerializer, request)
        challenge = fields.pop("challenge")
        screening.user_register_screened(
            client_ip=client_ip(request),
            challenge=challenge if defences.challenge_required(api=True) else None,
            **fields,
        )
        return Response(SUCCESS, status=status.HTTP_201_CREATED)


class ChallengeView(PublicView):
    throttle_classes = throttles("lookup")

    @extend_schema(
        request=None,
        responses={200: io.ChallengeSerializer, 429: _429},
        summary="A sign-up challenge (ALTCHA v1) to solve and send back in `challenge`",
    )
    def get(self, request: Request) -> Response:
        return Response(defences.challenge_create(), headers={"Cache-Control": "no-store"})


class ResendConfirmView(PublicView):
    throttle_classes = throttles("email")

    @extend_schema(
        request=io.EmailSerializer,
        responses={200: StatusSerializer, 400: ERROR, 429: _429},
        summary="Mail a new confirmation link (same answer for any address)",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.EmailSerializer, request)
        services.user_request_confirmation(email=data["email"])
        return Response(SUCCESS)


class ConfirmView(PublicView):
    """The link in a confirmation email, for front ends that prefer the API's address.

    Opened by a browser, so every outcome is a page: never a bare JSON error.
    """

    throttle_classes = throttles("lookup")

    @extend_schema(
        request=None,
        responses={
            302: OpenApiResponse(
                description="To the 'email confirmed' page, or to the 'invalid or expired link' page."
            ),
            (429, "text/html"): OpenApiResponse(description="The 'too many requests' page; see Retry-After"),
        },
        summary="Confirm an email address (the emailed link)",
    )
    def get(self, request: Request, token: str) -> HttpResponse:
        try:
            user = services.user_confirm_email(token=token)
        except ApplicationError as error:
            return _redirect("pages:link-invalid", reason=error.code)
        return _redirect("pages:confirmed", next=user.status)

    # An HTML page, not a DRF Response (finalize_response accepts any HttpResponse).
    def handle_exception(self, exc: Exception) -> HttpResponse:  # type: ignore[override]
        if isinstance(exc, exceptions.Throttled):
            return too_many_requests(self.request, exc.wait)  # type: ignore[attr-defined]  # the stubs omit Throttled.wait
        return super().handle_exception(exc)


def _redirect(name: str, **query: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode(query)}")
