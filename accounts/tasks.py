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

from . import services

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


@shared_task(name="accounts.tasks.prune_sessions")
def prune_sessions() -> int:
    """Periodic (Celery beat): ended login sessions, staff notices sent long ago and what the apps
    above registered (selfservice: dead email changes) go."""
    return services.sessions_prune()
