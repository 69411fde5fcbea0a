"""`/api/websites/` (docs/api.md §3): the owner's own sites, every site for staff. Thin: each
action calls one service."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from blahaj.errors import NotFound, ValidationFailed
from blahaj.lookups import as_id
from blahaj.permissions import IsStaff
from blahaj.schema import ErrorSerializer as ERROR
from blahaj.throttling import member_throttles, object_throttles, throttles
from blahaj.views import validated
from logins.authentication import signed_in_user

from . import selectors, services
from .models import Website
from .serializers import (
    SuspendSerializer,
    TokenSerializer,
    VerifiedSerializer,
    WebsiteCreateSerializer,
    WebsiteSerializer,
)

# Per member and per site (docs/api.md §5); verify-domain keeps its per-IP limit too.
VERIFY_THROTTLES = [*throttles("lookup"), *member_throttles("verify_domain"), *object_throttles("verify_domain_site")]
ACTION_THROTTLES = [*member_throttles("website_action"), *object_throttles("website_action_site")]
_429 = OpenApiResponse(ERROR, description="throttled (per member, per site); see Retry-After")


@extend_schema_view(
    list=extend_schema(
        summary="Websites: your own (staff: every one)",
        responses={
            200: WebsiteSerializer(many=True),
            400: OpenApiResponse(ERROR, description="an unknown query parameter"),
        },
    ),
    retrieve=extend_schema(summary="One website, with its provisioning steps"),
    create=extend_schema(
        request=WebsiteCreateSerializer,
        responses={
            202: WebsiteSerializer,
            400: OpenApiResponse(description="domain_invalid, git_url_invalid, domain_not_allowed"),
            409: OpenApiResponse(description="website_limit_reached, domain_taken, domain_exists_on_yunohost"),
        },
        summary="Ask for a website: a confirmation link is mailed",
    ),
    destroy=extend_schema(request=None, responses={202: WebsiteSerializer}, summary="Delete a website (queued)"),
)
class WebsiteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebsiteSerializer
    permission_classes = [IsAuthenticated]
    queryset = Website.objects.none()  # the schema's type of `id`; get_queryset decides the rows
    lookup_value_regex = r"[^/]+"

    def get_queryset(self) -> QuerySet[Website]:
        if getattr(self, "swagger_fake_view", False) or not self.request.user.is_authenticated:
            return Website.objects.none()
        return selectors.websites_visible(user=self.request.user).exclude(status=Website.Status.DELETED)

    def get_object(self) -> Website:
        # Somebody else's site is a 404, like one that does not exist.
        pk = as_id(self.kwargs.get("pk", ""))
        website = self.get_queryset().filter(pk=pk).first() if pk is not None else None
        if website is None:
            raise NotFound(_("Website not found."), code="website_not_found")
        return website

    def list(self, request: Request) -> Response:
        # Only the pagination's parameter: a misspelt filter must not look like "no sites".
        unknown = sorted(set(request.query_params) - {"page"})
        if unknown:
            raise ValidationFailed(
                _("Unknown query parameter."), fields={name: [_("Unknown query parameter.")] for name in unknown[:10]}
            )
        return super().list(request)

    def create(self, request: Request) -> Response:
        data = validated(WebsiteCreateSerializer, request)
        website = services.website_request(owner=signed_in_user(request), **data)
        return Response(self.get_serializer(website).data, status=status.HTTP_202_ACCEPTED)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        website = services.website_delete(website=self.get_object())
        return Response(self.get_serializer(website).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=TokenSerializer,
        responses={
            202: WebsiteSerializer,
            400: OpenApiResponse(description="token_invalid"),
            410: OpenApiResponse(description="token_expired"),
        },
        summary="Confirm a website with the emailed token: provisioning is queued",
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[AllowAny],
        authentication_classes=[],
        throttle_classes=throttles("lookup"),
    )
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        data = validated(TokenSerializer, request)
        website_id = as_id(pk)
        if website_id is None:
            raise services.TokenInvalid()
        website, _already = services.website_confirm(token=data["token"], website_id=website_id)
        return Response(WebsiteSerializer(website).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={
            200: VerifiedSerializer,
            409: OpenApiResponse(VerifiedSerializer, description="not found yet"),
            429: OpenApiResponse(
                ERROR,
                description="throttled (per client IP, member, site), or verification_running (this site is "
                "being checked now), verification_busy (too many checks at once); see Retry-After",
            ),
        },
        summary="Look for the custom domain's DNS TXT record",
    )
    @action(detail=True, methods=["post"], url_path="verify-domain", throttle_classes=VERIFY_THROTTLES)
    def verify_domain(self, request: Request, pk: str | None = None) -> Response:
        website = self.get_object()
        if services.website_verify_domain(website=website):
            return Response({"verified": True})
        return Response(
            {
                "verified": False,
                "error": _("The DNS TXT record was not found yet."),
                "code": "domain_not_verified",
                "record": website.verification_record,
                "value": website.verification_token,
            },
            status=status.HTTP_409_CONFLICT,
        )

    @extend_schema(
        request=None,
        responses={202: WebsiteSerializer, 409: OpenApiResponse(description="website_not_live"), 429: _429},
        summary="Wipe the website's files back to the initial state (a reset already waiting: that one)",
    )
    @action(detail=True, methods=["post"], throttle_classes=ACTION_THROTTLES)
    def reset(self, request: Request, pk: str | None = None) -> Response:
        website = self.get_object()
        services.website_reset(website=website)
        website.refresh_from_db()
        return Response(self.get_serializer(website).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: WebsiteSerializer, 409: OpenApiResponse(description="no_sftp"), 429: _429},
        summary="Set a new SFTP password, mailed to the owner (never in a response; one already waiting: that one)",
    )
    @action(detail=True, methods=["post"], url_path="sftp-password", throttle_classes=ACTION_THROTTLES)
    def sftp_password(self, request: Request, pk: str | None = None) -> Response:
        website = self.get_object()
        services.website_sftp_password_rotate(website=website)
        website.refresh_from_db()
        return Response(self.get_serializer(website).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=SuspendSerializer,
        responses={
            202: WebsiteSerializer,
            400: OpenApiResponse(ERROR, description="invalid: no reason"),
            403: OpenApiResponse(ERROR, description="staff only"),
            409: OpenApiResponse(ERROR, description="website_deleted"),
        },
        summary="Staff: suspend a website (owner and admins only on YunoHost); the owner is mailed the reason",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def suspend(self, request: Request, pk: str | None = None) -> Response:
        data = validated(SuspendSerializer, request)
        website = services.website_suspend(
            website=self.get_object(), reason=data["reason"], actor=signed_in_user(request)
        )
        return Response(self.get_serializer(website).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: WebsiteSerializer, 403: OpenApiResponse(ERROR, description="staff only")},
        summary="Staff: lift a website's suspension (public again); the owner is mailed",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def unsuspend(self, request: Request, pk: str | None = None) -> Response:
        website = services.website_unsuspend(website=self.get_object(), actor=signed_in_user(request))
        return Response(self.get_serializer(website).data, status=status.HTTP_202_ACCEPTED)
