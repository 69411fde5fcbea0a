from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = _("Second factor")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, once the models are loaded: the usual place for an app's wiring.
        from blahaj import permissions
        from logins import hooks
        from logins import tokens as jwt

        from . import devices, services

        # The login's second step (logins.services) asks through logins.hooks; the staff
        # check (blahaj.permissions) through its own registry: neither imports this app.
        hooks.register_second_factor(
            has_second_factor=devices.has_second_factor,
            login_token=services.login_token_issue,
            code_methods=devices.code_methods,
            remove_all=devices.remove_all,
        )
        permissions.register_second_factor(
            user_has=devices.has_second_factor,
            token_has=jwt.has_second_factor,
        )
