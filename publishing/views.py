"""`POST /api/websites/<id>/deploy`, `POST /api/websites/<id>/webhook-secret` (the owner's or
staff's), and the push webhook `POST /hooks/websites/<id>/<public id>` (no login: its signature
is its authentication). Thin: each calls one service."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blahaj.errors import NotFound
from blahaj.schema import ErrorSerializer as ERROR
from logins.authentication import signed_in_user
from websites import selectors as website_selectors
from websites.models import Website
from websites.serializers import DeploySerializer

from . import selectors, services
from .serializers import AcceptedSerializer, WebhookSecretSerializer


def _website(request: Request, pk: int) -> Website:
    website = (
        website_selectors.websites_visible(user=signed_in_user(request))
        .exclude(status=Website.Status.DELETED)
        .filter(pk=pk)
        .first()
    )
    if website is None:
        raise NotFound(_("Website not found."), code="website_not_found")
    return website


class DeployView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            202: DeploySerializer,
            404: OpenApiResponse(ERROR, description="website_not_found"),
            409: OpenApiResponse(ERROR, description="not_live, no_deploy or website_suspended"),
        },
        summary="Deploy a git or ssg website now: clone, build, publish (queued, coalesced)",
    )
    def post(self, request: Request, pk: int) -> Response:
        website = _website(request, pk)
        deploy = services.deploy_for_owner(website=website)
        deploy.refresh_from_db()  # a worker may have taken it already
        return Response(selectors.deploy_summary(website=website, deploy=deploy), status=status.HTTP_202_ACCEPTED)


class WebhookSecretView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: WebhookSecretSerializer,
            404: OpenApiResponse(ERROR, description="website_not_found"),
            409: OpenApiResponse(ERROR, description="no_deploy: an SFTP site"),
        },
        summary="A new secret for the website's push webhook (shown only in this answer)",
    )
    def post(self, request: Request, pk: int) -> Response:
        url, secret = services.webhook_secret_rotate(website=_website(request, pk))
        return Response({"webhook_url": url, "secret": secret})


class HookView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=None,
        responses={
            202: AcceptedSerializer,
            403: OpenApiResponse(ERROR, description="signature_invalid: nothing is queued"),
            409: OpenApiResponse(ERROR, description="not_live"),
        },
        summary="A push delivery (Forgejo, Gitea, GitHub or GitLab): a deploy starts",
    )
    def post(self, request: Request, website_id: int, public_id: str) -> Response:
        services.webhook_deliver(website_id=website_id, public_id=public_id, body=request.body, headers=request.headers)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)
