"""The publishing API's bodies (docs/api.md §3)."""

from __future__ import annotations

from rest_framework import serializers


class WebhookSecretSerializer(serializers.Serializer):
    webhook_url = serializers.URLField()
    secret = serializers.CharField(help_text="Shown only in this answer.")


class AcceptedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
