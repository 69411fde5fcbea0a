"""Staff told by email too (a digest per window)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from blahaj import outbox

from .. import emails
from ..models import StaffNotice, User

_DIGEST_SCHEDULED = "staff-digest:scheduled"


def staff_notice_record(*, kind: str, text: str) -> None:
    """Queue `text` for the staff's next digest email (in the caller's transaction).

    The first event of a window schedules the digest STAFF_DIGEST_WINDOW seconds later; the
    events after it just join the queue, so a burst of sign-ups makes one email. The periodic
    `send_staff_digest` (Celery beat) sends whatever a lost message left behind.
    """
    StaffNotice.objects.create(kind=kind, text=text[:1000])
    window = settings.STAFF_DIGEST_WINDOW
    if cache.add(_DIGEST_SCHEDULED, 1, timeout=window):
        outbox.enqueue("accounts.tasks.send_staff_digest", countdown=window)


def staff_digest_recipients() -> list[str]:
    """STAFF_NOTIFY_EMAILS, or else every active staff account's address."""
    if settings.STAFF_NOTIFY_EMAILS:
        return list(settings.STAFF_NOTIFY_EMAILS)
    staff = User.objects.filter(is_staff=True).exclude(status=User.Status.DISABLED).exclude(email="")
    return sorted(set(staff.values_list("email", flat=True)))


def staff_digest_send() -> int:
    """Send every queued notice in one email; how many it carried (0: nothing sent).

    The rows are claimed (sent_at) in the transaction that reads them, skipping rows another
    worker holds, so two digests never carry the same event.
    """
    recipients = staff_digest_recipients()
    with transaction.atomic():
        notices = list(
            StaffNotice.objects.select_for_update(skip_locked=True).filter(sent_at__isnull=True).order_by("id")
        )
        if not notices or not recipients:
            return 0
        StaffNotice.objects.filter(pk__in=[notice.pk for notice in notices]).update(sent_at=timezone.now())
    message = emails.render(
        emails.STAFF_DIGEST, user=User(email=recipients[0]), notices=notices, admin_url=emails.absolute_url("/admin/")
    )
    message.to = recipients
    message.send()
    return len(notices)
