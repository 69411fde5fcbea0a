"""The account emails: one function per email, three templates per email.

`send_*` queue the email through the outbox (blahaj/outbox.py): a row in the caller's
transaction, and a Celery task (accounts/tasks.py) that sends it once that has committed, so
they are safe inside a transaction, cost the request one INSERT, never raise a delivery error
and survive a broker that is down. The task carries only the email's kind and the user's id.
An email with a link gets its token in the worker, right before sending (see
`services.email_deliver`): the raw token lives in the worker's memory and in the message,
never in the broker, the database or a log.

Templates: `templates/emails/<kind>_subject.txt`, `<kind>.txt` and `<kind>.html`, rendered by
blahaj.mail (which also sorts delivery errors for the tasks). Links are built from SITE_URL
only, never from a request's Host header.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from blahaj import mail, outbox

CONFIRMATION = "confirmation"
PASSWORD_RESET = "password_reset"  # noqa: S105 - an email's name, not a password
PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an email's name, not a password
WELCOME = "welcome"
SET_PASSWORD = "set_password"  # noqa: S105 - an email's name, not a password
PASSWORD_REFUSED = "password_refused"  # noqa: S105 - an email's name, not a password
APPROVED = "approved"
REJECTED = "rejected"
DELETION_SCHEDULED = "deletion_scheduled"
DELETION_CANCELLED = "deletion_cancelled"
ACCOUNT_DELETED = "account_deleted"

# The page each link-carrying email points at (its token is the URL's only argument).
LINK_PAGES = {
    CONFIRMATION: "pages:confirm",
    PASSWORD_RESET: "pages:password-reset-confirm",
    SET_PASSWORD: "pages:password-reset-confirm",
    PASSWORD_REFUSED: "pages:password-reset-confirm",
    DELETION_SCHEDULED: "pages:delete-cancel",
}


def send_confirmation(*, user: Any) -> None:
    """Ask to confirm the address: a link to /confirm/<token>/ (ACCOUNTS_CONFIRM_TOKEN_LIFETIME)."""
    _queue(CONFIRMATION, user)


def send_password_reset(*, user: Any) -> None:
    """A link to /password-reset/<token>/ to choose a new password (ACCOUNTS_RESET_TOKEN_LIFETIME)."""
    _queue(PASSWORD_RESET, user)


def send_password_changed(*, user: Any) -> None:
    """Tell that the password was changed, with a way back in if it wasn't them."""
    _queue(PASSWORD_CHANGED, user)


def send_welcome(*, user: Any) -> None:
    """Tell that the account is ready: its mail address and the portal (sent by
    `services.user_provisioned` once the lane has created the YunoHost user)."""
    _queue(WELCOME, user)


def send_set_password(*, user: Any) -> None:
    """An account created by staff: a one-time link to choose its first password (a reset link)."""
    _queue(SET_PASSWORD, user)


def send_password_refused(*, user: Any) -> None:
    """YunoHost refused the sign-up password when it created the account: a one-time link to
    choose another one (a reset link); the account is finished with it."""
    _queue(PASSWORD_REFUSED, user)


def send_approved(*, user: Any) -> None:
    """Tell an applicant that staff approved the account and that it is being set up."""
    _queue(APPROVED, user)


def send_rejected(*, user: Any, reason: str = "") -> None:
    """Tell an applicant that staff turned the sign-up down.

    The account is deleted in the same transaction, so the task cannot load it by id: it gets
    the few fields the email shows and the account's language (no secret among them).
    """
    recipient = {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "language": user.language,
    }
    outbox.enqueue("accounts.tasks.send_detached_email", REJECTED, recipient, reason)


def send_deletion_scheduled(*, user: Any) -> None:
    """Tell when the account will be deleted, with a link to /account/delete/cancel/<token>/
    that works until then."""
    _queue(DELETION_SCHEDULED, user)


def send_deletion_cancelled(*, user: Any) -> None:
    """Tell that the deletion was cancelled and the account is back."""
    _queue(DELETION_CANCELLED, user)


def send_account_deleted(*, user: Any) -> None:
    """Tell that the account is gone (sent as the row is deleted: the task gets the few fields
    the email shows, like `send_rejected`)."""
    recipient = {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "language": user.language,
    }
    outbox.enqueue("accounts.tasks.send_detached_email", ACCOUNT_DELETED, recipient, "")


def _queue(kind: str, user: Any) -> None:
    # By name: accounts.tasks imports the services, which import this module. Through the
    # outbox: a broker that is down when the change commits delays the email, never loses it.
    outbox.enqueue("accounts.tasks.send_account_email", kind, user.pk)


def link_for(kind: str, token: str) -> str:
    return mail.absolute_url(reverse(LINK_PAGES[kind], args=[token]))


def render(kind: str, *, user: Any, link: str | None = None, **extra: Any) -> EmailMultiAlternatives:
    """The `kind` email to `user`'s recovery address, in `user.language` (blahaj.mail renders it)."""
    context = {
        **extra,
        "user": user,
        "link": link,
        "reset_url": mail.absolute_url(reverse("pages:password-reset")),
        "portal_url": settings.YUNOHOST_PORTAL_URL,
        "confirm_hours": settings.ACCOUNTS_CONFIRM_TOKEN_LIFETIME // 3600,
        "reset_hours": settings.ACCOUNTS_RESET_TOKEN_LIFETIME // 3600,
    }
    return mail.render(kind, to=[user.email], **context)
