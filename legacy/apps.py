from __future__ import annotations

from django.apps import AppConfig


class LegacyConfig(AppConfig):
    name = "legacy"
    verbose_name = "Legacy routes (the old front end's)"
    default_auto_field = "django.db.models.BigAutoField"
