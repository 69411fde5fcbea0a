from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class BlahajConfig(AppConfig):
    name = "blahaj"
    verbose_name = gettext_lazy("Site and background work")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The outbox's beat tasks are registered in every process (web, worker, beat).
        from . import outbox  # noqa: F401
