"""Bodies of the staff API for the abuse defences (`/api/network-blocks/`, `/api/email-domain-blocks/`)."""

from __future__ import annotations

from rest_framework import serializers

from blahaj.serializers import StrictModelSerializer

from .models import EmailDomainBlock, NetworkBlock


class NetworkBlockSerializer(StrictModelSerializer):
    # Declared, not derived: the service normalises the value and answers a duplicate (409).
    network = serializers.CharField(max_length=49, help_text="An address or a CIDR range.")
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = NetworkBlock
        fields = ["id", "network", "reason", "expires_at", "created_at", "created_by"]
        read_only_fields = ["id", "created_at", "created_by"]


class EmailDomainBlockSerializer(StrictModelSerializer):
    # Declared, not derived: the service normalises the value and answers a duplicate (409).
    domain = serializers.CharField(max_length=253, help_text="A domain; its subdomains and mail servers match too.")
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = EmailDomainBlock
        fields = ["id", "domain", "reason", "created_at", "created_by"]
        read_only_fields = ["id", "created_at", "created_by"]
