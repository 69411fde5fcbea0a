from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = _("YunoHost provisioning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The services queue run_operation by name (the tasks module imports the services).
        from . import checks, metrics, tasks  # noqa: F401
