"""Abuse reports: the public page `/abuse/`, and `/api/abuse-reports/` (anyone files one,
throttled per IP; staff list, read, assign and resolve). Thin: each write calls one service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from blahaj.errors import ApplicationError
from blahaj.lookups import ID_PATTERN
from blahaj.permissions import IsStaff
from blahaj.throttling import ScopedIPThrottle

from .. import abuse_reports, defences
from ..forms import AbuseReportForm
from ..models import AbuseReport
from ..serializers import ErrorSerializer as ERROR
from ..serializers import StatusSerializer
from ..serializers_defences import (
    AbuseReportCreateSerializer,
    AbuseReportFilterSerializer,
    AbuseReportSerializer,
    AbuseReportUpdateSerializer,
)
from .base import SUCCESS, _429
from .pages import _form_page, _over_limit


@require_http_methods(["GET", "POST"])
def abuse_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form_page(request, "accounts/abuse.html", AbuseReportForm())
    if limited := _over_limit(request, "abuse_report"):
        return limited
    form = AbuseReportForm(request.POST)
    if form.is_valid():
        fields = dict(form.cleaned_data)
        honeypot = fields.pop("homepage")
        challenge = fields.pop("challenge", None) if defences.challenge_required(api=False) else None
        try:
            abuse_reports.abuse_report_create(challenge=challenge, honeypot=honeypot, **fields)
        except ApplicationError as error:
            form.show(error)
        else:
            return redirect("pages:abuse-sent")
    return _form_page(request, "accounts/abuse.html", form)


@require_GET
def abuse_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/abuse_sent.html")


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
            429: _429,
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
        filters = AbuseReportFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        for name in ("status", "reason"):
            if name in filters.validated_data:
                queryset = queryset.filter(**{name: filters.validated_data[name]})
        if "assignee" in filters.validated_data:
            queryset = queryset.filter(assignee__username=filters.validated_data["assignee"])
        return queryset

    def create(self, request: Request) -> Response:
        data = AbuseReportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        challenge = fields.pop("challenge")
        abuse_reports.abuse_report_create(
            challenge=challenge if defences.challenge_required(api=True) else None, **fields
        )
        return Response(SUCCESS, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        report = self.get_object()
        data = AbuseReportUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = abuse_reports.abuse_report_update(report=report, **data.validated_data)
        return Response(AbuseReportSerializer(report).data)
