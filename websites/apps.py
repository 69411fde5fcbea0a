from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebsitesConfig(AppConfig):
    name = "websites"
    verbose_name = _("Websites")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, once the models are loaded: the usual place for an app's wiring.
        from accounts.signals import user_disabled, user_enabled, user_erasing

        from . import (
            lane,
            metrics,  # noqa: F401 - registers the websites' gauges
            receivers,
            tasks,  # noqa: F401 - registers the tasks the services queue by name
        )

        lane.register_outcomes()
        user_disabled.connect(receivers.account_disabled, dispatch_uid="websites.account_disabled")
        user_enabled.connect(receivers.account_enabled, dispatch_uid="websites.account_enabled")
        user_erasing.connect(receivers.account_erasing, dispatch_uid="websites.account_erasing")
