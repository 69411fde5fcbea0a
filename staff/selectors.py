"""What staff read: the admin index's "waiting for staff" box (staff/templatetags/
staff_dashboard.py, templates/admin/index.html)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from blahaj.models import OutboxMessage
from provisioning.models import Operation


@dataclass(frozen=True)
class Waiting:
    """One line of the admin index's "waiting for staff" box."""

    label: str
    count: int
    url: str


def staff_waiting() -> list[Waiting]:
    """What waits for staff, each with the admin list that shows it: six COUNT queries.

    "Waiting too long": operations queued or running for more than STAFF_LANE_STUCK_AFTER
    seconds, which the lane (one command at a time, a few seconds each) never takes unless its
    worker is down or YunoHost hangs; the sweeper re-queues lost messages, not a dead worker.
    The same for the outbox's emails and pings: due that long ago and still not taken, the
    broker or the default queue's worker is down."""
    users = reverse("admin:accounts_user_changelist")
    operations = reverse("admin:provisioning_operation_changelist")
    since = (timezone.now() - timedelta(seconds=settings.STAFF_LANE_STUCK_AFTER)).replace(microsecond=0)
    unfinished = [Operation.Status.PENDING, Operation.Status.RUNNING]
    stuck = Operation.objects.filter(status__in=unfinished, created_at__lt=since).count()
    by_status = dict(
        User.objects.filter(
            status__in=[User.Status.PENDING_APPROVAL, User.Status.PROVISIONING, User.Status.PROVISIONING_FAILED]
        )
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    failed = Operation.objects.filter(status=Operation.Status.FAILED).count()
    outbox = reverse("admin:blahaj_outboxmessage_changelist")
    messages = OutboxMessage.objects.filter(status=OutboxMessage.Status.WAITING, due_at__lt=since).count()
    failed_messages = OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED).count()
    minutes = settings.STAFF_LANE_STUCK_AFTER // 60
    return [
        Waiting(
            _("Sign-ups waiting for approval"),
            by_status.get(User.Status.PENDING_APPROVAL, 0),
            f"{users}?status__exact={User.Status.PENDING_APPROVAL}",
        ),
        Waiting(
            _("Accounts whose provisioning failed"),
            by_status.get(User.Status.PROVISIONING_FAILED, 0),
            f"{users}?status__exact={User.Status.PROVISIONING_FAILED}",
        ),
        Waiting(
            _("Accounts still being provisioned"),
            by_status.get(User.Status.PROVISIONING, 0),
            f"{users}?status__exact={User.Status.PROVISIONING}",
        ),
        Waiting(
            _("Failed YunoHost operations (retry them from the list)"),
            failed,
            f"{operations}?status__exact={Operation.Status.FAILED}",
        ),
        Waiting(
            _("YunoHost operations waiting more than %(minutes)s minutes (is the lane's worker running?)")
            % {"minutes": minutes},
            stuck,
            f"{operations}?{urlencode({'status__in': ','.join(unfinished), 'created_at__lt': since.isoformat()})}",
        ),
        Waiting(
            _(
                "Emails and notifications waiting more than %(minutes)s minutes (is the broker or the default worker down?)"
            )
            % {"minutes": minutes},
            messages,
            f"{outbox}?{urlencode({'status__exact': OutboxMessage.Status.WAITING, 'due_at__lt': since.isoformat()})}",
        ),
        Waiting(
            _("Emails and notifications that failed (publish them again from the list)"),
            failed_messages,
            f"{outbox}?status__exact={OutboxMessage.Status.FAILED}",
        ),
    ]
