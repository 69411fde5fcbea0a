"""Abuse reports (README, "Abuse defences"): anyone files one, staff are told on Discord, a
staff member takes it and resolves it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

import audit
from blahaj import notifications
from blahaj.errors import ApplicationError

from . import defences
from .models import AbuseReport, User

_UNSET = object()


def abuse_report_create(
    *, target: str, reason: str, details: str, reply_to: str = "", challenge: str | None, honeypot: str = ""
) -> AbuseReport | None:
    """File a report; None for a filled honeypot (answered like a success, nothing kept)."""
    if honeypot:
        return None
    if challenge is not None:
        defences.challenge_verify(payload=challenge)
    with transaction.atomic():
        report = AbuseReport.objects.create(
            target=target.strip(), reason=reason, details=details.strip(), reply_to=reply_to.strip()
        )
        # Sent after commit (blahaj.discord); every value the reporter typed is neutralised.
        notifications.abuse_reported(
            report_id=report.pk, reason=report.get_reason_display(), target=report.target, details=report.details
        )
    return report


@audit.audited(
    "abuse_report.update",
    target=audit.of("abuse_report", "report"),
    detail=lambda kwargs, report: f"status {report.status}",
)
def abuse_report_update(
    *,
    report: AbuseReport,
    assignee: User | object | None = _UNSET,
    status: str | None = None,
    staff_note: str | None = None,
) -> AbuseReport:
    """Assign (a staff member, or None), resolve or reopen, and note."""
    fields = []
    if assignee is not _UNSET:
        if assignee is not None and not (isinstance(assignee, User) and assignee.is_staff):
            raise ApplicationError(fields={"assignee": ["Reports are assigned to staff members."]})
        report.assignee = assignee if isinstance(assignee, User) else None
        fields.append("assignee")
    if status is not None and status != report.status:
        report.status = status
        report.resolved_at = timezone.now() if status == AbuseReport.Status.RESOLVED else None
        fields += ["status", "resolved_at"]
    if staff_note is not None:
        report.staff_note = staff_note
        fields.append("staff_note")
    if fields:
        report.save(update_fields=fields)
    return report
