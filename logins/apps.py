from __future__ import annotations

from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class LoginsConfig(AppConfig):
    name = "logins"
    verbose_name = _("Logins")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the schema's JWT scheme

        # SimpleJWT's app, under a name people read in the admin (its own is "Token Blacklist").
        # Its models need INSTALLED_APPS to name the library's app itself, not a config of ours.
        apps.get_app_config("token_blacklist").verbose_name = _("Refresh tokens")
