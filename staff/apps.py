from __future__ import annotations

from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff administration"
    default_auto_field = "django.db.models.BigAutoField"
