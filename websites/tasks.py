"""Celery tasks of the websites app: thin, they take ids, never a password or a token."""

from __future__ import annotations

import logging

from celery import shared_task

from blahaj.mail import EmailTask, delivery

from . import services

logger = logging.getLogger(__name__)


@shared_task(base=EmailTask, name="websites.tasks.send_website_email")
def send_website_email(kind: str, website_id: int) -> None:
    # Only the error's type reaches the log: its text may quote the message (a password email).
    with delivery(f"the {kind} email of website {website_id}"):
        services.website_email_deliver(kind=kind, website_id=website_id)


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
