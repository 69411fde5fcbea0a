"""Celery tasks of the accounts app: thin, they take ids or what a visitor typed, never a
password or a token (see accounts/emails.py for how a link's token reaches its email)."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Task, shared_task

from . import emails, services

logger = logging.getLogger(__name__)

MAX_RETRIES = 6  # 30 s doubling up to 15 min: about half an hour of trying in all


def _backoff(retries: int) -> int:
    return min(30 * 2**retries, 900) + random.randint(0, 10)


@contextmanager
def _retry_if_transient(task: Task, what: str) -> Iterator[None]:
    try:
        yield
    except emails.DELIVERY_ERRORS as error:
        if emails.is_transient(error) and task.request.retries < MAX_RETRIES:
            logger.warning("Sending %s failed (%s); retrying.", what, type(error).__name__)
            raise task.retry(countdown=_backoff(task.request.retries)) from None
        # Only the error's type: its text may quote the message or the ESP's answer.
        logger.error("Sending %s failed for good (%s).", what, type(error).__name__)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def send_account_email(self: Task, kind: str, user_id: int) -> None:
    with _retry_if_transient(self, f"the {kind} email to user {user_id}"):
        services.email_deliver_to_user_id(kind=kind, user_id=user_id)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def send_password_reset_to(self: Task, identifier: str) -> None:
    with _retry_if_transient(self, "a password reset email"):
        services.user_password_reset_deliver(identifier=identifier)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def resend_confirmation_to(self: Task, email: str) -> None:
    with _retry_if_transient(self, "a confirmation email"):
        services.user_confirmation_redeliver(email=email)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def send_detached_email(self: Task, kind: str, recipient: dict[str, str], reason: str = "") -> None:
    """An email about an account that no longer exists (a rejected sign-up)."""
    with _retry_if_transient(self, f"the {kind} email"):
        services.email_deliver_detached(kind=kind, recipient=recipient, reason=reason)
