"""Sending an email, for every app: rendering one with the site's words, sorting delivery errors,
and the Celery task base class that retries what a retry can fix.

An app's email is three templates, `templates/emails/<kind>_subject.txt`, `<kind>.txt` and
`<kind>.html`, rendered by `render` with the site settings (`site`) and SITE_URL (`site_url`)
besides the app's own context. Links are built from SITE_URL only (`absolute_url`), never from
a request's Host header.

The app queues a task through the outbox (blahaj/outbox.py) with `base=EmailTask`, carrying ids
and plain texts only, and sends inside `with delivery("what it is"):`. A delivery error that a
retry can fix (`is_transient`) is raised again as `TransientDeliveryError`, which Celery retries
(`autoretry_for`, exponential backoff with jitter, bounded); any other is logged (its type only)
and the email dropped. An `EmailTask` is an `OutboxTask`, so a message the outbox published
twice sends one email, and one the broker lost is published again.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from anymail.exceptions import AnymailError, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from languages import i18n
from observability import metrics

from . import site
from .outbox import OutboxTask

logger = logging.getLogger(__name__)

# Errors a delivery can end with; anything else is a bug and propagates.
DELIVERY_ERRORS = (AnymailError, smtplib.SMTPException, OSError)
MAX_RETRIES = 6  # 30 s doubling up to 15 min: about half an hour of trying in all


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def render(kind: str, *, to: list[str], language: str | None = None, **context: Any) -> EmailMultiAlternatives:
    """The `kind` email to `to`, its templates given `context`, the site settings and SITE_URL,
    in `language` (default: the language of the account `user` in the context, else English)."""
    if language is None:
        language = getattr(context.get("user"), "language", None)
    context = {**context, "site": site.current(), "site_url": settings.SITE_URL}
    with i18n.speaking(language) as code:
        subject = " ".join(render_to_string(f"emails/{kind}_subject.txt", context).split())
        message = EmailMultiAlternatives(subject=subject, body=render_to_string(f"emails/{kind}.txt", context), to=to)
        message.attach_alternative(render_to_string(f"emails/{kind}.html", context), "text/html")
    message.extra_headers["Content-Language"] = code
    return message


def is_transient(error: BaseException) -> bool:
    """Whether sending again later can succeed (a retry is worth it)."""
    if isinstance(error, AnymailRequestsAPIError):
        # No status: the ESP could not be reached. 429 and 5xx: the ESP is busy or broken.
        return error.status_code is None or error.status_code == 429 or error.status_code >= 500
    if isinstance(error, AnymailError):
        return False  # recipients refused, invalid address, unsupported feature
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, smtplib.SMTPException):
        return False  # e.g. the server lacks a feature we need: sending again won't help
    return isinstance(error, OSError)  # refused connections, resets, timeouts


class TransientDeliveryError(Exception):
    """A delivery failed in a way that sending again later can fix."""

    def __init__(self, what: str, cause: str) -> None:
        super().__init__(what, cause)
        self.what, self.cause = what, cause


class EmailTask(OutboxTask):
    """The base class of a task that sends an email: Celery retries a TransientDeliveryError."""

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
def delivery(what: str) -> Iterator[None]:
    """Around an EmailTask's sending: counts it, and sorts a delivery error into a retry
    (TransientDeliveryError) or a logged drop. `what` names the email in the log, never a secret."""
    try:
        yield
    except DELIVERY_ERRORS as error:
        # Only the error's type: its text may quote the message or the ESP's answer.
        if is_transient(error):
            metrics.EMAILS.labels("retrying").inc()
            logger.warning("Sending %s failed (%s); retrying.", what, type(error).__name__)
            raise TransientDeliveryError(what, type(error).__name__) from None
        metrics.EMAILS.labels("failed").inc()
        logger.error("Sending %s failed for good (%s).", what, type(error).__name__)
    else:
        metrics.EMAILS.labels("sent").inc()
