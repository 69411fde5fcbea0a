"""Bodies of the staff API for the abuse defences (`/api/network-blocks/`, `/api/email-domain-blocks/`) and abuse reports (`/api/abuse-reports/`)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from blahaj.serializers import StrictModelSerializer, StrictSerializer

from .models import AbuseReport, EmailDomainBlock, NetworkBlock


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


class AbuseReportCreateSerializer(StrictModelSerializer):
    challenge = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="A solved ALTCHA challenge (GET /api/user/challenge), when the service asks for it.",
    )

    class Meta:
        model = AbuseReport
        fields = ["target", "reason", "details", "reply_to", "challenge"]


class AbuseReportSerializer(StrictModelSerializer):
    assignee = serializers.CharField(source="assignee.username", read_only=True, allow_null=True)
    # Empty when the reporter left no address: "an address or empty", as in the request.
    reply_to = serializers.EmailField(read_only=True, allow_blank=True)

    class Meta:
        model = AbuseReport
        fields = [
            "id",
            "target",
            "reason",
            "details",
            "reply_to",
            "status",
            "assignee",
            "staff_note",
            "created_at",
            "resolved_at",
        ]
        read_only_fields = fields


class AbuseReportUpdateSerializer(StrictSerializer):
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_staff=True),
        required=False,
        allow_null=True,
        help_text="A staff member's username, or null to unassign.",
    )
    status = serializers.ChoiceField(choices=AbuseReport.Status.choices, required=False)
    staff_note = serializers.CharField(required=False, allow_blank=True, max_length=3000)


class AbuseReportFilterSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=AbuseReport.Status.choices, required=False)
    reason = serializers.ChoiceField(choices=AbuseReport.Reason.choices, required=False)
    assignee = serializers.CharField(required=False, max_length=150, help_text="A staff member's username.")
