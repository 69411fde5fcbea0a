"""Bodies of the account deletion endpoints (docs/api.md §1b)."""

from __future__ import annotations

from rest_framework import serializers

from blahaj.serializers import StrictSerializer
from logins.serializers import PasswordField


class DeleteRequestSerializer(StrictSerializer):
    password = PasswordField()


class DeleteScheduledSerializer(serializers.Serializer):
    deletes_at = serializers.DateTimeField(help_text="When the account will be deleted (ISO-8601, UTC).")


class DeleteCancelSerializer(StrictSerializer):
    token = serializers.CharField(max_length=128)
