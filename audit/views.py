"""`/api/audit/` (docs/api.md §1b): staff read the audit log."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.permissions import IsAdminUser

from blahaj.lookups import ID_PATTERN
from blahaj.views import validated

from . import selectors
from .models import AuditEntry
from .recorder import Door, Result
from .serializers import AuditEntrySerializer, AuditFilterSerializer


@extend_schema_view(
    list=extend_schema(
        summary="The audit log, newest first",
        parameters=[
            OpenApiParameter("actor", description="Exact username, or `lane`, `system`, `command:<name>`."),
            OpenApiParameter("action", description="Exact action; ending in a dot, a prefix (`user.`)."),
            OpenApiParameter("object", description="Exact object, e.g. `user:alice`."),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="ISO 8601: rows at or after this instant."),
            OpenApiParameter(
                "door",
                enum=[value for value, _ in Door.CHOICES],
                description="`seed`, the former name of `legacy`, is read as `legacy`.",
            ),
            OpenApiParameter("result", enum=[value for value, _ in Result.CHOICES]),
        ],
    ),
    retrieve=extend_schema(summary="One audit row"),
)
class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID_PATTERN
    permission_classes = [IsAdminUser]
    serializer_class = AuditEntrySerializer
    filter_serializer_class = AuditFilterSerializer

    def get_queryset(self) -> QuerySet[AuditEntry]:
        if self.action != "list":
            return AuditEntry.objects.all()
        filters = validated(AuditFilterSerializer, self.request, data=self.request.query_params)
        return selectors.audit_entries(**filters)
