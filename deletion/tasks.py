"""The deletion finalizer's Celery tasks: thin, they take ids. They keep the names they had in
the accounts app (the beat's schedule and the outbox's rows name them)."""

from __future__ import annotations

import logging

from celery import shared_task

from blahaj.outbox import OutboxTask

from . import services as deletion

logger = logging.getLogger("accounts.tasks")  # the name these tasks have always logged under


@shared_task(name="accounts.tasks.finalize_deletions")
def finalize_deletions() -> None:
    """Celery beat (ACCOUNTS_DELETE_FINALIZE_INTERVAL): delete the accounts whose grace is over."""
    summary = deletion.deletions_finalize()
    if summary.deleted or summary.waiting:
        logger.info("Deletions: %d done, %d waiting for their websites.", len(summary.deleted), len(summary.waiting))


@shared_task(base=OutboxTask, name="accounts.tasks.finalize_deletion")
def finalize_deletion(user_id: int) -> None:
    """One account's deletion, taken further as soon as its last website is gone
    (deletion.services.deletion_resume); the beat's finalize_deletions is the fallback."""
    outcome = deletion.deletion_finalize(user_id=user_id)
    logger.info("Deletion of account %s resumed: %s.", user_id, outcome)
