"""Celery tasks of the staff notices: thin, they call one service."""

from __future__ import annotations

from celery import shared_task

from blahaj.mail import EmailTask, delivery

from . import services


# Registered under the name it had in the accounts app: outbox rows, broker messages and the
# beat schedule of a running deployment name it so.
@shared_task(base=EmailTask, name="accounts.tasks.send_staff_digest")
def send_staff_digest() -> None:
    """Scheduled by the first event of a window, and periodically by beat (STAFF_DIGEST_WINDOW)."""
    with delivery("the staff digest"):
        services.staff_digest_send()
