"""Staff see and steer the YunoHost lanes: `/api/operations/` (docs/api.md §3; the servers,
`/api/servers/`, are the fleet's)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from blahaj.lookups import ID_PATTERN
from blahaj.views import validated

from . import services
from .models import Operation
from .serializers import OperationDetailSerializer, OperationFilterSerializer, OperationSerializer


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
        filters = validated(OperationFilterSerializer, self.request, data=self.request.query_params)
        return queryset.filter(**filters)

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
