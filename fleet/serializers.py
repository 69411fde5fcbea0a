"""The YunoHost servers as staff see and change them (docs/api.md §3): never a secret, never a
credential."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from blahaj.serializers import StrictSerializer
from provisioning.models import Server

from .health import Health, server_health


class ServerSerializer(serializers.Serializer):
    """A YunoHost server as staff see it (docs/api.md §3): never a secret, never a credential."""

    name = serializers.CharField()
    main_domain = serializers.CharField(source="domain")
    backend = serializers.ChoiceField(choices=Server.Backend.choices, source="backend_name")
    version = serializers.CharField(source="yunohost_version")
    state = serializers.ChoiceField(choices=Server.State.choices)
    capacity_accounts = serializers.IntegerField()
    capacity_sites = serializers.IntegerField()
    accounts = serializers.IntegerField()
    sites = serializers.IntegerField()
    queue_depth = serializers.SerializerMethodField(help_text="Operations waiting or running on its lane.")
    oldest_waiting_at = serializers.SerializerMethodField(help_text="When its oldest waiting operation was queued.")
    queue = serializers.CharField(help_text="The Celery queue its lane worker reads (blahaj-lane@<name>).")
    last_command_at = serializers.DateTimeField(allow_null=True)
    stuck = serializers.SerializerMethodField(help_text="Work waits and no command ended for STAFF_LANE_STUCK_AFTER.")

    def _health(self, server: Server) -> Health:
        # Three fields read one health: measured once per server and answer.
        if getattr(self, "_measured", None) is None:
            self._measured: dict[int, Health] = {}
        if server.pk not in self._measured:
            self._measured[server.pk] = server_health(server)
        return self._measured[server.pk]

    def get_queue_depth(self, server: Server) -> int:
        return self._health(server).queue_depth

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_oldest_waiting_at(self, server: Server) -> str | None:
        oldest = self._health(server).oldest_waiting_at
        return serializers.DateTimeField().to_representation(oldest) if oldest else None

    def get_stuck(self, server: Server) -> bool:
        return self._health(server).stuck


def _text() -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=500)


class ServerWriteSerializer(StrictSerializer):
    """What staff may set (PATCH: any of them). `api_password` ("user:password") is stored
    encrypted and never answered."""

    main_domain = serializers.CharField(required=False, allow_blank=True, max_length=253)
    backend = serializers.ChoiceField(choices=Server.Backend.choices, required=False)
    cli_command = _text()
    emulator_state = _text()
    lock_file = _text()
    api_url = _text()
    api_password = serializers.CharField(required=False, write_only=True, trim_whitespace=False, max_length=500)
    api_ca_bundle = _text()
    version = serializers.ChoiceField(choices=["11", "12"], required=False)
    public_ips = _text()
    capacity_accounts = serializers.IntegerField(required=False, min_value=0, max_value=10_000_000)
    capacity_sites = serializers.IntegerField(required=False, min_value=0, max_value=10_000_000)
    state = serializers.ChoiceField(choices=Server.State.choices, required=False)


class ServerCreateSerializer(ServerWriteSerializer):
    name = serializers.RegexField(
        r"^[a-z0-9][a-z0-9-]{0,31}$",
        max_length=32,
        error_messages={"invalid": gettext_lazy("Lower-case letters, digits and dashes (32 at most).")},
    )
    main_domain = serializers.CharField(max_length=253)
    backend = serializers.ChoiceField(choices=Server.Backend.choices)
