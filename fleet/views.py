"""Staff see and change the YunoHost servers: `/api/servers/` (docs/api.md §3)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from blahaj.schema import ErrorSerializer
from blahaj.views import validated
from provisioning import servers as lane_servers
from provisioning.models import Server

from . import services
from .serializers import ServerCreateSerializer, ServerSerializer, ServerWriteSerializer

# The routes' description in the OpenAPI schema, word for word as it was before the servers moved
# to this app: the schema is a contract, and a new text would be a change of its own.
_DESCRIPTION = "`/api/servers/` (staff): the fleet. Writes go through provisioning/servers.py."
_SERVER_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="invalid (with fields)"),
    404: OpenApiResponse(ErrorSerializer, description="not_found"),
}


@extend_schema_view(
    list=extend_schema(summary="The YunoHost servers, each with its lane's depth", description=_DESCRIPTION),
    retrieve=extend_schema(summary="One YunoHost server", description=_DESCRIPTION),
    create=extend_schema(
        request=ServerCreateSerializer,
        responses={
            201: ServerSerializer,
            400: _SERVER_ERRORS[400],
            409: OpenApiResponse(ErrorSerializer, description="server_exists"),
        },
        summary="Add a YunoHost server (its lane: queue yunohost.<name>, unit blahaj-lane@<name>)",
        description=_DESCRIPTION,
    ),
    partial_update=extend_schema(
        request=ServerWriteSerializer,
        responses={200: ServerSerializer, **_SERVER_ERRORS},
        summary="Change a server: connection, capacity, state (draining: no new members)",
        description=_DESCRIPTION,
    ),
)
class ServerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """`/api/servers/` (staff): the fleet. Writes go through fleet/services.py."""

    permission_classes = [IsAdminUser]
    serializer_class = ServerSerializer
    lookup_field = "name"
    lookup_value_regex = "[a-z0-9-]+"
    queryset = Server.objects.order_by("name")

    def get_queryset(self) -> QuerySet[Server]:
        lane_servers.server_first()  # the settings' server is listed even before its row exists
        return Server.objects.order_by("name")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(ServerCreateSerializer, request)
        server = services.server_create(**data)
        return Response(ServerSerializer(server).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(ServerWriteSerializer, request)
        server = services.server_update(server=self.get_object(), **data)
        return Response(ServerSerializer(server).data)
