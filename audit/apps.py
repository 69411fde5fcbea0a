from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit log")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A Celery task gets its own scope (door `task`, actor "system") unless it runs inside
        # one already (an eager task in a request); the beat task is found by name.
        from blahaj import outbox, site

        from . import receivers, recorder, tasks  # noqa: F401

        recorder.connect_task_signals()
        outbox.message_retried.connect(receivers.outbox_message_retried, dispatch_uid="audit.outbox_retried")
        site.site_settings_saved.connect(receivers.site_settings_saved, dispatch_uid="audit.site_settings_saved")
