"""Celery tasks of the websites app: thin, they take ids, never a password or a token."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts import emails as account_emails
from accounts.tasks import EmailTask, TransientDeliveryError
from blahaj import metrics

from . import services

logger = logging.getLogger(__name__)


@shared_task(base=EmailTask, name="websites.tasks.send_website_email")
def send_website_email(kind: str, website_id: int) -> None:
    what = f"the {kind} email of website {website_id}"
    try:
        services.website_email_deliver(kind=kind, website_id=website_id)
    except account_emails.DELIVERY_ERRORS as error:
        # Only the error's type: its text may quote the message (a password email).
        if account_emails.is_transient(error):
            metrics.EMAILS.labels("retrying").inc()
            logger.warning("Sending %s failed (%s); retrying.", what, type(error).__name__)
            raise TransientDeliveryError(what, type(error).__name__) from None
        metrics.EMAILS.labels("failed").inc()
        logger.error("Sending %s failed for good (%s).", what, type(error).__name__)
    else:
        metrics.EMAILS.labels("sent").inc()


@shared_task(name="websites.tasks.recheck_domains", ignore_result=True)
def recheck_domains() -> None:
    lost = services.websites_recheck_domains()
    if lost:
        logger.info("Custom domains that stopped verifying: %s", ", ".join(lost))


@shared_task(name="websites.tasks.pull_git_sites", ignore_result=True)
def pull_git_sites() -> None:
    queued = services.websites_git_pull()
    if queued:
        logger.info("Queued the pull of %d git site(s).", queued)
