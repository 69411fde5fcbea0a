"""What the audit log records when a layer below it tells it of a staff action (it cannot
import the log: blahaj sits below audit)."""

from __future__ import annotations

from typing import Any

from blahaj.models import OutboxMessage

from .recorder import record


def outbox_message_retried(sender: object, *, message: OutboxMessage, **kwargs: Any) -> None:
    record(action="outbox.retry", object=f"outbox:{message.pk}", detail=message.task)
