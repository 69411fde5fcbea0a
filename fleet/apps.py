from __future__ import annotations

from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "fleet"
    verbose_name = "YunoHost servers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The readiness checks and the lane workers' heartbeat (registered when imported), and
        # what the lane's sweep asks of the fleet.
        from provisioning import hooks

        from . import health, services  # noqa: F401

        hooks.register_after_sweep(services.servers_after_sweep)
