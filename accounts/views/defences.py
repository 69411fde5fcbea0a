"""Staff API for the abuse defences: `/api/network-blocks/` and `/api/email-domain-blocks/`. Thin: each write calls one
service of accounts.defences, the same the admin uses."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from blahaj.lookups import ID_PATTERN
from blahaj.permissions import IsStaff

from .. import defences
from ..models import EmailDomainBlock, NetworkBlock, User
from ..serializers import ErrorSerializer as ERROR
from ..serializers_defences import EmailDomainBlockSerializer, NetworkBlockSerializer

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
        actor = self.request.user if isinstance(self.request.user, User) else None
        serializer.instance = defences.network_block_create(**serializer.validated_data, actor=actor)

    def perform_update(self, serializer: BaseSerializer) -> None:
        defences.network_block_update(block=serializer.instance, data=serializer.validated_data)  # type: ignore[arg-type]  # a NetworkBlock


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
        actor = self.request.user if isinstance(self.request.user, User) else None
        serializer.instance = defences.email_domain_block_create(**serializer.validated_data, actor=actor)

    def perform_update(self, serializer: BaseSerializer) -> None:
        defences.email_domain_block_update(block=serializer.instance, data=serializer.validated_data)  # type: ignore[arg-type]  # an EmailDomainBlock
