"""Staff told by email too: events queued as StaffNotice rows, sent as one digest per
STAFF_DIGEST_WINDOW (one email per language its recipients read). Any app records an event with `staff_notice_record`."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from blahaj import mail, outbox
from languages import i18n

from .models import StaffNotice

STAFF_DIGEST = "staff_digest"  # the email's templates: templates/emails/staff_digest*

_DIGEST_SCHEDULED = "staff-digest:scheduled"
# notices/tasks.py's send_staff_digest, by the name it is registered under.
_SEND_STAFF_DIGEST = "accounts.tasks.send_staff_digest"


def staff_notice_record(*, kind: str, text: str) -> None:
    """Queue `text` for the staff's next digest email (in the caller's transaction).

    The first event of a window schedules the digest STAFF_DIGEST_WINDOW seconds later; the
    events after it just join the queue, so a burst of sign-ups makes one email. The periodic
    `send_staff_digest` (Celery beat) sends whatever a lost message left behind.
    """
    StaffNotice.objects.create(kind=kind, text=text[:1000])
    window = settings.STAFF_DIGEST_WINDOW
    if cache.add(_DIGEST_SCHEDULED, 1, timeout=window):
        outbox.enqueue(_SEND_STAFF_DIGEST, countdown=window)


def staff_digest_recipients() -> list[str]:
    """STAFF_NOTIFY_EMAILS, or else every active staff account's address."""
    if settings.STAFF_NOTIFY_EMAILS:
        return list(settings.STAFF_NOTIFY_EMAILS)
    User = get_user_model()
    staff = User.objects.filter(is_staff=True).exclude(status=User.Status.DISABLED).exclude(email="")
    return sorted(set(staff.values_list("email", flat=True)))


def staff_digest_languages(recipients: list[str]) -> dict[str, list[str]]:
    """`recipients` by the language they read: an address's account language (an active account
    with that address, staff first), else English (an address without an account)."""
    User = get_user_model()
    known: dict[str, str] = {}
    same_address = Q()
    for address in recipients:
        same_address |= Q(email__iexact=address)
    accounts = User.objects.filter(same_address).exclude(status=User.Status.DISABLED).order_by("is_staff", "id")
    for email, language in accounts.values_list("email", "language"):
        known[email.lower()] = language  # staff last: a staff account's language wins
    by_language: dict[str, list[str]] = {}
    for address in recipients:
        language = i18n.supported(known.get(address.lower(), ""))
        by_language.setdefault(language, []).append(address)
    return by_language


def staff_digest_send() -> int:
    """Send every queued notice in one email per language its recipients read; how many notices
    it carried (0: nothing sent).

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
    admin_url = mail.absolute_url("/admin/")
    for language, addresses in sorted(staff_digest_languages(recipients).items()):
        mail.render(STAFF_DIGEST, to=addresses, language=language, notices=notices, admin_url=admin_url).send()
    return len(notices)


def staff_notices_prune() -> int:
    """Delete staff notices that went out in a digest more than ACCOUNTS_SESSION_RETENTION ago
    (the email carried them; the admin's log keeps what staff did about them). Unsent ones stay."""
    before = timezone.now() - timedelta(seconds=settings.ACCOUNTS_SESSION_RETENTION)
    deleted, _ = StaffNotice.objects.filter(sent_at__lt=before).delete()
    return deleted
