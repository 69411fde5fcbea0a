from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfServiceConfig(AppConfig):
    name = "selfservice"
    verbose_name = _("Members' self-service")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, once the models are loaded: the usual place for an app's wiring.
        from accounts import hooks

        from . import (
            services,
            tasks,  # noqa: F401 - registers the tasks the services queue by name
        )

        # The hourly prune of the accounts (accounts.tasks.prune_sessions) clears the dead email
        # changes too, through accounts.hooks: accounts never imports this app.
        hooks.register_prune(services.email_changes_prune)
