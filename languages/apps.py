from __future__ import annotations

from django.apps import AppConfig


class LanguagesConfig(AppConfig):
    # An app for its management command (manage.py messages); it has no models.
    name = "languages"
    verbose_name = "Languages"
