from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = gettext_lazy("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, once the models are loaded: the usual place for an app's wiring.
        from provisioning import outcomes
        from provisioning.models import Operation
        from tiers.signals import tier_limits_changed

        from . import (
            receivers,
            services,
            tasks,  # noqa: F401 - registers the tasks the services queue by name
        )

        outcomes.register(
            Operation.Kind.USER_CREATE,
            on_succeeded=services.user_provisioned,
            on_failed=services.user_provisioning_failed,
            on_retried=services.user_provisioning_retried,
        )
        tier_limits_changed.connect(receivers.tier_changed, dispatch_uid="accounts.tier_changed")
