"""The audit log: one append-only row per staff action (through any door) and per lane outcome.

Rows are never changed and never deleted by the application: `save()` of an existing row and
`delete()` raise, and so do the queryset's `update()` and `delete()`. The one way out is
`audit.services.audit_prune`, which removes rows older than AUDIT_RETENTION_DAYS.

On PostgreSQL the database says so too (migration 0002): a trigger refuses every UPDATE, and every
DELETE but the prune's, which names its cutoff in the transaction-local setting
`blahaj.audit_prune_before` and may only remove rows older than it. Raw SQL, a shell or a bug that
goes around the model meets the same refusal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connections, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .recorder import Door, Result

# The transaction-local PostgreSQL setting through which the prune tells the trigger its cutoff.
PRUNE_SETTING = "blahaj.audit_prune_before"


class AppendOnly(Exception):
    """Someone tried to change or delete an audit row."""


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("Audit rows are never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("Audit rows are never deleted (old ones are pruned by audit.services.audit_prune).")

    def _prune_before(self, cutoff: datetime) -> int:
        """The prune's own way out, inside its transaction: a plain DELETE (no signals, nothing
        cascades to an audit row) of this queryset's rows older than `cutoff`."""
        connection = connections[self.db]
        if connection.vendor != "postgresql":
            return self.filter(at__lt=cutoff)._raw_delete(self.db)
        # The trigger's permit, for this statement only (and at most this transaction, should the
        # DELETE fail: set_config(..., true) is transaction-local).
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [PRUNE_SETTING, cutoff.isoformat()])
            deleted = self.filter(at__lt=cutoff)._raw_delete(self.db)
            cursor.execute("SELECT set_config(%s, '', true)", [PRUNE_SETTING])
        return deleted


class AuditEntry(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Not a foreign key: the row outlives the account. The username is a snapshot; for anything
    # that is not a person, "system", "lane" or "command:<name>" and no id.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150, db_index=True)
    door = models.CharField(max_length=16, choices=Door.CHOICES)
    action = models.CharField(max_length=64, db_index=True)
    object = models.CharField(max_length=255, db_index=True, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    result = models.CharField(max_length=16, choices=Result.CHOICES, default=Result.OK)
    detail = models.CharField(max_length=300, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["door", "result", "at"], name="audit_door_result_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object} ({self.result})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("Audit rows are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("Audit rows are never deleted (old ones are pruned by audit.services.audit_prune).")
