from __future__ import annotations

from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "YunoHost provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The services queue run_operation by name (the tasks module imports the services).
        from . import checks, metrics, tasks  # noqa: F401
