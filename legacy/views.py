"""The legacy routes at the site's root (docs/api.md §2): the old front end's routes, thin
adapters over the services that sections 1 and 3 use, in the shapes blahaj.land's sign-up front
end expects.

That front end's server logs in with a staff service account, posts the form to /create_user
and shows the person only the status and the `error` string. Hence: every answer is JSON (the
exceptions are the links a person opens in a browser: a dead reset or confirmation link), a
400's `error` names the bad field in plain ASCII, and the old back end's own status codes (432,
468) are kept.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import User
from blahaj.errors import ApplicationError, Forbidden, NotFound
from blahaj.schema import ErrorSerializer as ERROR
from blahaj.throttling import throttles
from blahaj.views import validated
from logins import services as logins
from logins.authentication import signed_in_user
from logins.throttling import CountsFailedLogins
from observability.client_ip import client_ip
from websites import emails as website_emails
from websites import services as website_services

from . import serializers as io
from .permissions import IsStaffOrLegacyCreator

# How the front end's form calls each field, for the sentence in `error`.
FIELD_LABELS = {
    "username": "Username",
    "display_name": "Display name",
    "email": "Recovery email",
    "recovery_email": "Recovery email",
    "discord_username": "Discord username",
    "password": "Password",
}
USERNAME_TAKEN = 432  # the old back end's code; kept because the front end branches on it
DOMAIN_NOT_ALLOWED = 468  # the old back end's code; kept because the front end branches on it


def ascii_sentence(text: str) -> str:
    """The front end shows `error` as is, in a page that may not be UTF-8."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2026", "...").replace("\u2013", "-").replace("\u2014", "-")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _name_the_field(body: dict) -> None:
    fields = body.get("fields") or {}
    if "email" in fields:  # the old back end calls it recovery_email
        fields["recovery_email"] = fields.pop("email")
    if not fields:
        return
    name, messages = next(iter(fields.items()))
    label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
    message = messages[0] if messages else "Invalid value."
    if label.lower() not in message.lower() and name.replace("_", " ") not in message.lower():
        message = f"{label}: {message[:1].lower()}{message[1:]}"
    body["error"] = message


class LegacyView(APIView):
    """JSON only (no browsable API even with DEBUG), CSRF-exempt like every APIView (token or
    no authentication: no cookies), a refused or missing token is a 401. In English whatever the
    request's language (docs/i18n.md): the front end shows `error` as it is; the pages a person
    opens from a link (`_page`) speak the person's language."""

    renderer_classes = [JSONRenderer]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with translation.override("en"):
            response = super().dispatch(request, *args, **kwargs)
            if isinstance(response, Response):  # its sentences (lazy ones too) are read now
                response.render()
                response.headers["Content-Language"] = "en"
        return response

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        body = response.data if isinstance(response.data, dict) else None
        if body is not None and isinstance(body.get("error"), str | Promise):
            body["error"] = str(body["error"])
            if response.status_code == 400:
                _name_the_field(body)
            body["error"] = ascii_sentence(body["error"])
        return response


def _page(request: Request, template: str, context: dict[str, Any], *, status: int) -> HttpResponse:
    """A page a person opens from a link: in the request's own language, not the routes' English."""
    with translation.override(getattr(request._request, "LANGUAGE_CODE", None)):
        return render(request._request, template, context, status=status)


class PublicLegacyView(LegacyView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class LegacyLoginView(CountsFailedLogins, PublicLegacyView):
    @extend_schema(
        request=io.SeedLoginSerializer,
        responses={
            200: io.SeedTokenPairSerializer,
            401: OpenApiResponse(ERROR, description='{"msg": "Bad username or password"} (plus error, code)'),
            403: OpenApiResponse(ERROR, description="email_unconfirmed, approval_pending, account_disabled"),
            429: OpenApiResponse(ERROR, description="too_many_attempts, or too many failed logins from this IP"),
        },
        summary="Seed route: log in with a username (tokens named access_token, refresh_token)",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.SeedLoginSerializer, request)
        pair = logins.user_login(
            identifier=data["username"],
            password=data["password"],
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        if pair.get("mfa_required"):
            # A person with TOTP: the second step is POST /api/user/login/mfa (the front end's
            # service account has no second factor and never gets here).
            return Response(pair)
        return Response(
            {
                "access_token": pair["access"],
                "refresh_token": pair["refresh"],
                "access_expires_in": pair["access_expires_in"],
                "refresh_expires_in": pair["refresh_expires_in"],
            }
        )

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, logins.InvalidCredentials):
            response.data = {"msg": "Bad username or password", **response.data}
        return response


class LegacyCreateUserView(LegacyView):
    permission_classes = [IsStaffOrLegacyCreator]
    admits_service_accounts = True

    @extend_schema(
        request=io.SeedCreateUserSerializer,
        responses={
            201: io.MessageSerializer,
            400: OpenApiResponse(ERROR, description="`error` names the bad field"),
            401: ERROR,
            403: ERROR,
            409: OpenApiResponse(ERROR, description="Email already in use"),
            USERNAME_TAKEN: OpenApiResponse(ERROR, description="Username already taken"),
            500: OpenApiResponse(ERROR, description="Failed to create user (nothing was saved)"),
        },
        summary="Seed route (staff): create an account; its owner gets a link to choose a password",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.SeedCreateUserSerializer, request)
        services.user_create_by_staff(**data, actor=signed_in_user(request))
        return Response({"message": "User created successfully"}, status=status.HTTP_201_CREATED)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, ApplicationError) and exc.code == "username_taken":
            response.status_code = USERNAME_TAKEN
            response.reason_phrase = "Username Taken"
        elif response.status_code >= 500:
            # The service runs in one transaction: a crash left nothing behind.
            response.data = {"error": "Failed to create user", "code": "server_error"}
        return response


class LegacyRequestResetView(PublicLegacyView):
    throttle_classes = throttles("email")  # one budget with /api/user/request-reset

    @extend_schema(
        request=io.SeedUsernameSerializer,
        responses={
            200: io.MessageSerializer,
            404: OpenApiResponse(ERROR, description="User not found (not with ACCOUNTS_PREVENT_ENUMERATION)"),
            429: ERROR,
        },
        summary="Seed route: mail a password reset link to the account's recovery email",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.SeedUsernameSerializer, request)
        username = data["username"]
        if not settings.ACCOUNTS_PREVENT_ENUMERATION and not selectors.user_username_exists(username=username):
            raise NotFound("User not found", code="user_not_found")
        services.user_request_password_reset(identifier=username)
        return Response({"message": "Password reset link sent"})


class LegacyResetPasswordView(PublicLegacyView):
    """The link of the seed's reset emails: on to the page that carries the token, where the
    person chooses the password. A GET changes nothing; the token stays unused."""

    throttle_classes = throttles("lookup")

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True)],
        responses={
            302: OpenApiResponse(description="To /password-reset/<token>/"),
            400: OpenApiResponse(ERROR, description="Token not provided (JSON), or an HTML page: invalid link"),
            410: OpenApiResponse(description="An HTML page: the link expired"),
        },
        summary="Seed route: open a reset link",
    )
    def get(self, request: Request) -> HttpResponse:
        token = request.query_params.get("token", "").strip()
        if not token:
            raise ApplicationError("Token not provided", code="token_missing")
        try:
            services.user_from_reset_token(token=token)
        except (services.TokenInvalid, services.TokenExpired) as error:
            expired = isinstance(error, services.TokenExpired)
            context = {"expired": expired, "form": None}
            return _page(request, "accounts/link_invalid.html", context, status=410 if expired else 400)
        return HttpResponseRedirect(reverse("pages:password-reset-confirm", args=[token]))


# --- Websites ------------------------------------------------------------------------------


class LegacyCreateWebsiteView(LegacyView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=io.SeedCreateWebsiteSerializer,
        responses={
            200: io.MessageSerializer,
            400: OpenApiResponse(ERROR, description="invalid domain or git URL; `error` names the field"),
            401: ERROR,
            403: OpenApiResponse(ERROR, description="`username` given by a member who is not staff"),
            404: OpenApiResponse(ERROR, description="User not found"),
            409: OpenApiResponse(ERROR, description="website_limit_reached, domain_taken"),
            DOMAIN_NOT_ALLOWED: OpenApiResponse(ERROR, description="Domain not allowed for the tier"),
        },
        summary="Seed route: ask for a website; a confirmation link is mailed to its owner",
    )
    def post(self, request: Request) -> Response:
        data = validated(io.SeedCreateWebsiteSerializer, request)
        owner = self._owner(request, data.get("username"))
        website_services.website_request(
            owner=owner,
            domain=data["domain"],
            kind=data["kind"],
            git_url=data["git_url"],
        )
        return Response({"message": "Website setup confirmation link sent"})

    def _owner(self, request: Request, username: str | None) -> User:
        caller = signed_in_user(request)
        if not username or username == caller.username:
            return caller
        if not request.user.is_staff:
            raise Forbidden("Only staff may ask for a website for another user.")
        owner = User.objects.filter(username=username.strip().lower()).first()
        if owner is None:
            raise NotFound("User not found", code="user_not_found")
        return owner

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, ApplicationError) and exc.code == "domain_not_allowed":
            response.status_code = DOMAIN_NOT_ALLOWED
            response.reason_phrase = "Domain Not Allowed"
        return response


class LegacyConfirmSiteView(PublicLegacyView):
    """The link of the confirmation email: confirms (once) and goes on to the progress page.

    A GET that changes state, because the seed's link is a GET: single-use and idempotent,
    a second visit only says the site was confirmed already.
    """

    throttle_classes = throttles("lookup")

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True)],
        responses={
            302: OpenApiResponse(description="To /website_being_made"),
            (400, "application/json"): OpenApiResponse(ERROR, description="Token not provided"),
            (400, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page: invalid link"),
            (410, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="An HTML page: the link expired"),
            (429, "application/json"): OpenApiResponse(ERROR, description="too many requests"),
        },
        summary="Seed route: open a website confirmation link",
    )
    def get(self, request: Request) -> HttpResponse:
        token = request.query_params.get("token", "").strip()
        if not token:
            raise ApplicationError("Token not provided", code="token_missing")
        try:
            website, already = website_services.website_confirm(token=token)
        except (website_services.TokenInvalid, website_services.TokenExpired) as error:
            expired = isinstance(error, website_services.TokenExpired)
            context = {"expired": expired}
            return _page(request, "websites/link_invalid.html", context, status=410 if expired else 400)
        query = f"?site={website_emails.progress_key(website)}" + ("&already=1" if already else "")
        return HttpResponseRedirect(reverse("websites-seed:website-being-made") + query)
