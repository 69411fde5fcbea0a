from __future__ import annotations

from django.apps import AppConfig


class DeletionConfig(AppConfig):
    name = "deletion"
    verbose_name = "Account deletion"

    def ready(self) -> None:
        # The finalizer's tasks, which the services queue by name (deletion_resume).
        from . import tasks  # noqa: F401
