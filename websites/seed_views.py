"""The seed's website routes at the site's root (docs/api.md §2): thin adapters over the
services of `/api/websites/`, answering JSON with the seed's codes."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import signed_in_user
from accounts.models import User
from accounts.seed_views import PublicSeedView, SeedView
from accounts.serializers_seed import MessageSerializer
from blahaj.errors import ApplicationError, Forbidden, NotFound
from blahaj.schema import ErrorSerializer as ERROR
from blahaj.throttling import throttles

from . import emails, services
from .serializers import SeedCreateWebsiteSerializer

DOMAIN_NOT_ALLOWED = 468  # the seed's code; kept because the front end branches on it


class SeedCreateWebsiteView(SeedView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=SeedCreateWebsiteSerializer,
        responses={
            200: MessageSerializer,
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
        data = SeedCreateWebsiteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        owner = self._owner(request, data.validated_data.get("username"))
        services.website_request(
            owner=owner,
            domain=data.validated_data["domain"],
            kind=data.validated_data["kind"],
            git_url=data.validated_data["git_url"],
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


class SeedConfirmSiteView(PublicSeedView):
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
            website, already = services.website_confirm(token=token)
        except (services.TokenInvalid, services.TokenExpired) as error:
            expired = isinstance(error, services.TokenExpired)
            context = {"expired": expired}
            return render(request._request, "websites/link_invalid.html", context, status=410 if expired else 400)
        query = f"?site={emails.progress_key(website)}" + ("&already=1" if already else "")
        return HttpResponseRedirect(reverse("websites-seed:website-being-made") + query)
