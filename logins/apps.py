from __future__ import annotations

from django.apps import AppConfig, apps


class LoginsConfig(AppConfig):
    name = "logins"
    verbose_name = "Logins"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the schema's JWT scheme

        # SimpleJWT's app, under a name people read in the admin (its own is "Token Blacklist").
        # Its models need INSTALLED_APPS to name the library's app itself, not a config of ours.
        apps.get_app_config("token_blacklist").verbose_name = "Refresh tokens"
