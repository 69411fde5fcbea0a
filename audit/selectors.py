from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from .models import AuditEntry


def audit_entries(
    *,
    actor: str = "",
    action: str = "",
    object: str = "",
    since: datetime | None = None,
    door: str = "",
    result: str = "",
) -> QuerySet[AuditEntry]:
    """The log, newest first. `action` ending in a dot is a prefix (`user.` : every user action)."""
    rows = AuditEntry.objects.all()
    if actor:
        rows = rows.filter(actor=actor)
    if action:
        rows = rows.filter(action__startswith=action) if action.endswith(".") else rows.filter(action=action)
    if object:
        rows = rows.filter(object=object)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if door:
        rows = rows.filter(door=door)
    if result:
        rows = rows.filter(result=result)
    return rows.order_by("-at", "-id")
