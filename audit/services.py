"""The audit log's one way out: pruning rows older than AUDIT_RETENTION_DAYS."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import AuditEntry

PRUNE_BATCH = 1000


def audit_prune(*, before: datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete the rows older than `before` (default: AUDIT_RETENTION_DAYS ago), `batch` rows per
    transaction so a large backlog never holds one long lock; how many went."""
    cutoff = before or timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(AuditEntry.objects.filter(at__lt=cutoff).order_by("id").values_list("id", flat=True)[:batch])
            if not ids:
                return deleted
            deleted += AuditEntry.objects.filter(id__in=ids)._prune_before(cutoff)
