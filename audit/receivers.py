"""What the audit log records when a layer below it tells it of a staff action (it cannot
import the log: blahaj sits below audit)."""

from __future__ import annotations

from typing import Any

from blahaj.models import OutboxMessage, SiteSettings

from .recorder import record


def outbox_message_retried(sender: object, *, message: OutboxMessage, **kwargs: Any) -> None:
    record(action="outbox.retry", object=f"outbox:{message.pk}", detail=message.task)


def site_settings_saved(sender: object, *, site_settings: SiteSettings, **kwargs: Any) -> None:
    record(action="site_settings.update", object="site_settings")
