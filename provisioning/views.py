"""Staff see and steer the YunoHost lanes: `/api/operations/` and `/api/servers/` (docs/api.md §3)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from blahaj.lookups import ID_PATTERN
from blahaj.schema import ErrorSerializer

from . import servers, services
from .models import Operation, Server
from .serializers import (
    OperationDetailSerializer,
    OperationFilterSerializer,
    OperationSerializer,
    ServerCreateSerializer,
    ServerSerializer,
    ServerWriteSerializer,
)


@extend_schema_view(
    list=extend_schema(
        summary="The YunoHost operation log, newest first",
        parameters=[
            OpenApiParameter("status", enum=Operation.Status.values),
            OpenApiParameter("kind", enum=Operation.Kind.values),
        ],
    ),
    retrieve=extend_schema(summary="One operation, with its (redacted) output"),
)
class OperationViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID_PATTERN
    permission_classes = [IsAdminUser]
    filter_serializer_class = OperationFilterSerializer

    def get_queryset(self) -> QuerySet[Operation]:
        queryset = Operation.objects.order_by("-id")
        if self.action != "list":
            return queryset
        filters = OperationFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return queryset.filter(**filters.validated_data)

    def get_serializer_class(self) -> type[OperationSerializer]:
        return OperationDetailSerializer if self.action == "retrieve" else OperationSerializer

    @extend_schema(
        request=None,
        responses={
            202: OperationSerializer,
            409: OpenApiResponse(description="not_failed: only a failed operation can be retried"),
        },
        summary="Run a failed operation again",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        operation = services.operation_retry(operation=self.get_object())
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)


_SERVER_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="invalid (with fields)"),
    404: OpenApiResponse(ErrorSerializer, description="not_found"),
}


@extend_schema_view(
    list=extend_schema(summary="The YunoHost servers, each with its lane's depth"),
    retrieve=extend_schema(summary="One YunoHost server"),
    create=extend_schema(
        request=ServerCreateSerializer,
        responses={
            201: ServerSerializer,
            400: _SERVER_ERRORS[400],
            409: OpenApiResponse(ErrorSerializer, description="server_exists"),
        },
        summary="Add a YunoHost server (its lane: queue yunohost.<name>, unit blahaj-lane@<name>)",
    ),
    partial_update=extend_schema(
        request=ServerWriteSerializer,
        responses={200: ServerSerializer, **_SERVER_ERRORS},
        summary="Change a server: connection, capacity, state (draining: no new members)",
    ),
)
class ServerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """`/api/servers/` (staff): the fleet. Writes go through provisioning/servers.py."""

    permission_classes = [IsAdminUser]
    serializer_class = ServerSerializer
    lookup_field = "name"
    lookup_value_regex = "[a-z0-9-]+"
    queryset = Server.objects.order_by("name")

    def get_queryset(self) -> QuerySet[Server]:
        servers.server_first()  # the settings' server is listed even before its row exists
        return Server.objects.order_by("name")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ServerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        server = servers.server_create(**data.validated_data)
        return Response(ServerSerializer(server).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ServerWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        server = servers.server_update(server=self.get_object(), **data.validated_data)
        return Response(ServerSerializer(server).data)
