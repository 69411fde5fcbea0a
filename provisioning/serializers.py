"""The operation log as staff see it (docs/api.md §3). `secret_args` is never part of any of them."""

from __future__ import annotations

from rest_framework import serializers

from .models import Operation


class OperationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Operation
        fields = ["id", "kind", "subject", "status", "attempts", "created_at", "started_at", "finished_at", "error"]
        read_only_fields = fields


class OperationDetailSerializer(OperationSerializer):
    class Meta(OperationSerializer.Meta):
        fields = [*OperationSerializer.Meta.fields, "output"]
        read_only_fields = fields


class OperationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Operation.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Operation.Kind.choices, required=False)
