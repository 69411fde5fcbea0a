"""Celery tasks of the self-service: thin, they take ids, never a token (the link's secret is
made in the worker, selfservice.services.email_change_deliver).

Registered under the names they had in the accounts app: outbox rows and broker messages of a
running deployment name them so.
"""

from __future__ import annotations

from celery import shared_task

from blahaj.mail import EmailTask, delivery

from . import services


@shared_task(base=EmailTask, name="accounts.tasks.send_email_change")
def send_email_change(change_id: int) -> None:
    with delivery(f"the email change link of change {change_id}"):
        services.email_change_deliver(change_id=change_id)


@shared_task(base=EmailTask, name="accounts.tasks.send_email_change_undo")
def send_email_change_undo(change_id: int) -> None:
    with delivery(f"the email change undo link of change {change_id}"):
        services.email_change_undo_deliver(change_id=change_id)
