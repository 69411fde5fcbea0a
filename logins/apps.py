from __future__ import annotations

from django.apps import AppConfig


class LoginsConfig(AppConfig):
    name = "logins"
    verbose_name = "Logins"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the schema's JWT scheme
