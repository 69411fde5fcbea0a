"""The abuse defences' doors. Thin: each write calls one service of defences.services, the same
the admin uses.

- Staff API: `/api/network-blocks/` and `/api/email-domain-blocks/`.
- Abuse reports: the public page `/abuse/`, and `/api/abuse-reports/` (anyone files one,
  throttled per IP; staff list, read, assign and resolve).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from blahaj.errors import ApplicationError
from blahaj.lookups import ID_PATTERN
from blahaj.pages import form_page, over_limit
from blahaj.permissions import IsStaff
from blahaj.schema import THROTTLED, StatusSerializer
from blahaj.schema import ErrorSerializer as ERROR
from blahaj.throttling import ScopedIPThrottle
from blahaj.views import validated

from . import services
from .forms import AbuseReportForm
from .models import AbuseReport, EmailDomainBlock, NetworkBlock
from .serializers import (
    AbuseReportCreateSerializer,
    AbuseReportFilterSerializer,
    AbuseReportSerializer,
    AbuseReportUpdateSerializer,
    EmailDomainBlockSerializer,
    NetworkBlockSerializer,
)

SUCCESS = {"status": "success"}


@require_http_methods(["GET", "POST"])
def abuse_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return form_page(request, "defences/abuse.html", AbuseReportForm())
    if limited := over_limit(request, "abuse_report"):
        return limited
    form = AbuseReportForm(request.POST)
    if form.is_valid():
        fields, challenge, honeypot = form.defences()
        try:
            services.abuse_report_create(challenge=challenge, honeypot=honeypot, **fields)
        except ApplicationError as error:
            form.show(error)
        else:
            return redirect("pages:abuse-sent")
    return form_page(request, "defences/abuse.html", form)


@require_GET
def abuse_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "defences/abuse_sent.html")


@extend_schema_view(
    list=extend_schema(
        summary="Abuse reports, newest first (staff)",
        parameters=[
            OpenApiParameter("status", enum=AbuseReport.Status.values),
            OpenApiParameter("reason", enum=AbuseReport.Reason.values),
            OpenApiParameter("assignee", description="A staff member's username"),
        ],
    ),
    retrieve=extend_schema(summary="One abuse report (staff)"),
    create=extend_schema(
        auth=[],
        request=AbuseReportCreateSerializer,
        responses={
            201: StatusSerializer,
            400: OpenApiResponse(ERROR, description="`fields`, challenge_failed"),
            429: THROTTLED,
        },
        summary="Report abuse by an account or a site (anyone; throttled per IP)",
    ),
    partial_update=extend_schema(
        request=AbuseReportUpdateSerializer,
        responses={200: AbuseReportSerializer, 400: ERROR},
        summary="Assign, resolve or reopen a report, or note on it (staff)",
    ),
)
class AbuseReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = ID_PATTERN
    serializer_class = AbuseReportSerializer
    filter_serializer_class = AbuseReportFilterSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.action == "create" else [IsStaff()]

    def get_throttles(self) -> list[Any]:
        return [ScopedIPThrottle("abuse_report")] if self.action == "create" else []

    def get_queryset(self) -> QuerySet[AbuseReport]:
        queryset = AbuseReport.objects.select_related("assignee")
        if self.action != "list":
            return queryset
        filters = validated(AbuseReportFilterSerializer, self.request, data=self.request.query_params)
        for name in ("status", "reason"):
            if name in filters:
                queryset = queryset.filter(**{name: filters[name]})
        if "assignee" in filters:
            queryset = queryset.filter(assignee__username=filters["assignee"])
        return queryset

    def create(self, request: Request) -> Response:
        fields = validated(AbuseReportCreateSerializer, request)
        challenge = fields.pop("challenge")
        services.abuse_report_create(challenge=challenge if services.challenge_required(api=True) else None, **fields)
        return Response(SUCCESS, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        report = self.get_object()
        data = validated(AbuseReportUpdateSerializer, request)
        report = services.abuse_report_update(report=report, **data)
        return Response(AbuseReportSerializer(report).data)


_EXISTS = {409: OpenApiResponse(ERROR, description="network_block_exists")}


@extend_schema_view(
    list=extend_schema(summary="Blocked networks (sign-up refused from them), newest first"),
    create=extend_schema(responses={201: NetworkBlockSerializer, 400: ERROR, **_EXISTS}),
    update=extend_schema(responses={200: NetworkBlockSerializer, 400: ERROR, **_EXISTS}),
    partial_update=extend_schema(responses={200: NetworkBlockSerializer, 400: ERROR, **_EXISTS}),
)
class NetworkBlockViewSet(viewsets.ModelViewSet):
    lookup_value_regex = ID_PATTERN
    queryset = NetworkBlock.objects.select_related("created_by")
    serializer_class = NetworkBlockSerializer
    permission_classes = [IsStaff]

    def perform_create(self, serializer: BaseSerializer) -> None:
        actor = self.request.user if isinstance(self.request.user, get_user_model()) else None
        serializer.instance = services.network_block_create(**serializer.validated_data, actor=actor)

    def perform_update(self, serializer: BaseSerializer) -> None:
        services.network_block_update(block=serializer.instance, data=serializer.validated_data)  # type: ignore[arg-type]  # a NetworkBlock


_DOMAIN_EXISTS = {409: OpenApiResponse(ERROR, description="email_domain_block_exists")}


@extend_schema_view(
    list=extend_schema(summary="Blocked email domains (also matched against a domain's mail servers)"),
    create=extend_schema(responses={201: EmailDomainBlockSerializer, 400: ERROR, **_DOMAIN_EXISTS}),
    update=extend_schema(responses={200: EmailDomainBlockSerializer, 400: ERROR, **_DOMAIN_EXISTS}),
    partial_update=extend_schema(responses={200: EmailDomainBlockSerializer, 400: ERROR, **_DOMAIN_EXISTS}),
)
class EmailDomainBlockViewSet(viewsets.ModelViewSet):
    lookup_value_regex = ID_PATTERN
    queryset = EmailDomainBlock.objects.select_related("created_by")
    serializer_class = EmailDomainBlockSerializer
    permission_classes = [IsStaff]

    def perform_create(self, serializer: BaseSerializer) -> None:
        actor = self.request.user if isinstance(self.request.user, get_user_model()) else None
        serializer.instance = services.email_domain_block_create(**serializer.validated_data, actor=actor)

    def perform_update(self, serializer: BaseSerializer) -> None:
        services.email_domain_block_update(block=serializer.instance, data=serializer.validated_data)  # type: ignore[arg-type]  # an EmailDomainBlock
