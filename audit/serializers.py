from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from .models import AuditEntry
from .recorder import Door, Result


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "door", "action", "object", "ip", "result", "detail"]
        read_only_fields = fields


class _Instant(serializers.DateTimeField):
    # DRF takes an empty query value for an absent one; `?since=` is not an instant: a 400.
    def get_value(self, dictionary: Any) -> Any:
        return dictionary.get(self.field_name, empty)


class _Door(serializers.ChoiceField):
    # A door by its name, or by its former one (`seed`: rows now say `legacy`).
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            data = Door.FORMER_NAMES.get(data, data)
        return super().to_internal_value(data)


class AuditFilterSerializer(serializers.Serializer):
    actor = serializers.CharField(required=False, max_length=150, help_text="Exact username, or e.g. `lane`.")
    action = serializers.CharField(
        required=False, max_length=64, help_text="Exact action; ending in a dot, a prefix (`user.`)."
    )
    object = serializers.CharField(required=False, max_length=255, help_text="Exact object, e.g. `user:alice`.")
    since = _Instant(required=False, help_text="ISO 8601: rows at or after this instant.")
    door = _Door(required=False, choices=Door.CHOICES, help_text="A door; `seed` is read as `legacy`, its former name.")
    result = serializers.ChoiceField(required=False, choices=Result.CHOICES)
