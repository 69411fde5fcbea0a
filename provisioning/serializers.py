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


class PlaceSerializer(serializers.Serializer):
    """Where a YunoHost operation stands (fleet.Place): GET /api/user/me, GET /api/websites/<id>."""

    # The docstring is this component's description in the OpenAPI schema, kept word for word
    # (the schema is a contract): fleet.Place is line.Place now (provisioning/line.py).

    state = serializers.ChoiceField(choices=["waiting", "running", "done", "failed"])
    server = serializers.CharField(help_text="The YunoHost server the work runs on.")
    position = serializers.IntegerField(
        allow_null=True, help_text="1: next on its server; null once it ran (or while it waits for a retry)."
    )
    estimated_start = serializers.DateTimeField(
        allow_null=True, help_text="When it should start, from the server's recent command times."
    )
