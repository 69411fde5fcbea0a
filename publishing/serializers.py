"""The publishing API's bodies (docs/api.md §3)."""

from __future__ import annotations

from rest_framework import serializers


class DeploySerializer(serializers.Serializer):
    commit = serializers.CharField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result = serializers.ChoiceField(choices=["ok", "failed", "running"], allow_null=True)
    log_tail = serializers.CharField(allow_null=True, help_text="The last 200 lines of the clone, build and upload.")


class WebhookSecretSerializer(serializers.Serializer):
    webhook_url = serializers.URLField()
    secret = serializers.CharField(help_text="Shown only in this answer.")


class AcceptedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
