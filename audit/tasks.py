from __future__ import annotations

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="audit.tasks.prune_audit_log", ignore_result=True)
def prune_audit_log() -> None:
    """Celery beat (blahaj.settings CELERY_BEAT_SCHEDULE): rows older than AUDIT_RETENTION_DAYS go."""
    if deleted := services.audit_prune():
        logger.info("Audit log: %d row(s) older than the retention pruned.", deleted)
