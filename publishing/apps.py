from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "publishing"
    verbose_name = _("Publishing (git and static sites)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from websites import content

        from . import tasks  # noqa: F401 - registers the tasks the services queue by name
        from .publisher import Publisher

        content.register(Publisher())
