"""Celery tasks of the accounts app: thin, they take ids or what a visitor typed, never a
password or a token (see accounts/emails.py for how a link's token reaches its email).

Retries are Celery's own (`autoretry_for`, exponential backoff with jitter, bounded): a delivery
error that a retry can fix (`emails.is_transient`) is raised again as `TransientDeliveryError`,
which the tasks retry; any other is logged (its type only) and the email dropped.

The services queue them through the outbox (blahaj/outbox.py): `EmailTask` is an `OutboxTask`,
so a message the outbox published twice sends one email, and one the broker lost is published
again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import shared_task

from blahaj import metrics
from blahaj.outbox import OutboxTask

from . import deletion, emails, services

logger = logging.getLogger(__name__)

MAX_RETRIES = 6  # 30 s doubling up to 15 min: about half an hour of trying in all


class TransientDeliveryError(Exception):
    """A delivery failed in a way that sending again later can fix."""

    def __init__(self, what: str, cause: str) -> None:
        super().__init__(what, cause)
        self.what, self.cause = what, cause


class EmailTask(OutboxTask):
    autoretry_for = (TransientDeliveryError,)
    retry_backoff = 30
    retry_backoff_max = 900
    retry_jitter = True
    max_retries = MAX_RETRIES

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        if isinstance(exc, TransientDeliveryError):
            metrics.EMAILS.labels("failed").inc()
            logger.error("Sending %s failed for good (%s): out of retries.", exc.what, exc.cause)


@contextmanager
def _delivery(what: str) -> Iterator[None]:
    try:
        yield
    except emails.DELIVERY_ERRORS as error:
        # Only the error's type: its text may quote the message or the ESP's answer.
        if emails.is_transient(error):
            metrics.EMAILS.labels("retrying").inc()
            logger.warning("Sending %s failed (%s); retrying.", what, type(error).__name__)
            raise TransientDeliveryError(what, type(error).__name__) from None
        metrics.EMAILS.labels("failed").inc()
        logger.error("Sending %s failed for good (%s).", what, type(error).__name__)
    else:
        metrics.EMAILS.labels("sent").inc()


@shared_task(base=EmailTask, name="accounts.tasks.send_account_email")
def send_account_email(kind: str, user_id: int) -> None:
    with _delivery(f"the {kind} email to user {user_id}"):
        services.email_deliver_to_user_id(kind=kind, user_id=user_id)


@shared_task(base=EmailTask, name="accounts.tasks.send_password_reset_to")
def send_password_reset_to(identifier: str) -> None:
    with _delivery("a password reset email"):
        services.user_password_reset_deliver(identifier=identifier)


@shared_task(base=EmailTask, name="accounts.tasks.resend_confirmation_to")
def resend_confirmation_to(email: str) -> None:
    with _delivery("a confirmation email"):
        services.user_confirmation_redeliver(email=email)


@shared_task(base=EmailTask, name="accounts.tasks.send_detached_email")
def send_detached_email(kind: str, recipient: dict[str, str], reason: str = "") -> None:
    """An email about an account that no longer exists (a rejected sign-up)."""
    with _delivery(f"the {kind} email"):
        services.email_deliver_detached(kind=kind, recipient=recipient, reason=reason)


@shared_task(base=EmailTask, name="accounts.tasks.send_invitation")
def send_invitation(invitation_id: int) -> None:
    with _delivery(f"invitation {invitation_id}"):
        services.invitation_deliver(invitation_id=invitation_id)


@shared_task(base=EmailTask, name="accounts.tasks.send_invitation_used")
def send_invitation_used(inviter_id: int, invitation_id: int) -> None:
    with _delivery(f"the invitation-used email of invitation {invitation_id}"):
        services.invitation_used_deliver(inviter_id=inviter_id, invitation_id=invitation_id)


@shared_task(base=EmailTask, name="accounts.tasks.send_staff_digest")
def send_staff_digest() -> None:
    """Scheduled by the first event of a window, and periodically by beat (STAFF_DIGEST_WINDOW)."""
    with _delivery("the staff digest"):
        services.staff_digest_send()


@shared_task(name="accounts.tasks.finalize_deletions")
def finalize_deletions() -> None:
    """Celery beat (ACCOUNTS_DELETE_FINALIZE_INTERVAL): delete the accounts whose grace is over."""
    summary = deletion.deletions_finalize()
    if summary.deleted or summary.waiting:
        logger.info("Deletions: %d done, %d waiting for their websites.", len(summary.deleted), len(summary.waiting))


@shared_task(base=OutboxTask, name="accounts.tasks.finalize_deletion")
def finalize_deletion(user_id: int) -> None:
    """One account's deletion, taken further as soon as its last website is gone
    (accounts.deletion.deletion_resume); the beat's finalize_deletions is the fallback."""
    outcome = deletion.deletion_finalize(user_id=user_id)
    logger.info("Deletion of account %s resumed: %s.", user_id, outcome)


@shared_task(base=EmailTask, name="accounts.tasks.send_email_change")
def send_email_change(change_id: int) -> None:
    with _delivery(f"the email change link of change {change_id}"):
        services.email_change_deliver(change_id=change_id)


@shared_task(base=EmailTask, name="accounts.tasks.send_email_change_undo")
def send_email_change_undo(change_id: int) -> None:
    with _delivery(f"the email change undo link of change {change_id}"):
        services.email_change_undo_deliver(change_id=change_id)


@shared_task(name="accounts.tasks.prune_sessions")
def prune_sessions() -> int:
    """Periodic (Celery beat): ended login sessions, dead email changes and staff notices sent
    long ago go."""
    return services.sessions_prune()
