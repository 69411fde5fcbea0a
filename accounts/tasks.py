"""Celery tasks of the accounts app: thin, they take ids or what a visitor typed, never a
password or a token (see accounts/emails.py for how a link's token reaches its email).

The services queue them through the outbox (blahaj/outbox.py). The email tasks are
blahaj.mail's `EmailTask`s, sending inside `delivery(...)`: Celery retries what a retry can fix,
anything else is logged (its type only) and the email dropped.
"""

from __future__ import annotations

import logging

from celery import shared_task

from blahaj.mail import EmailTask, delivery
from blahaj.outbox import OutboxTask

from . import deletion, services

logger = logging.getLogger(__name__)


@shared_task(base=EmailTask, name="accounts.tasks.send_account_email")
def send_account_email(kind: str, user_id: int) -> None:
    with delivery(f"the {kind} email to user {user_id}"):
        services.email_deliver_to_user_id(kind=kind, user_id=user_id)


@shared_task(base=EmailTask, name="accounts.tasks.send_password_reset_to")
def send_password_reset_to(identifier: str) -> None:
    with delivery("a password reset email"):
        services.user_password_reset_deliver(identifier=identifier)


@shared_task(base=EmailTask, name="accounts.tasks.resend_confirmation_to")
def resend_confirmation_to(email: str) -> None:
    with delivery("a confirmation email"):
        services.user_confirmation_redeliver(email=email)


@shared_task(base=EmailTask, name="accounts.tasks.send_detached_email")
def send_detached_email(kind: str, recipient: dict[str, str], reason: str = "") -> None:
    """An email about an account that no longer exists (a rejected sign-up)."""
    with delivery(f"the {kind} email"):
        services.email_deliver_detached(kind=kind, recipient=recipient, reason=reason)


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


@shared_task(name="accounts.tasks.prune_sessions")
def prune_sessions() -> int:
    """Periodic (Celery beat): ended login sessions, staff notices sent long ago and what the apps
    above registered (selfservice: dead email changes) go."""
    return services.sessions_prune()
