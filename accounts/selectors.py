"""Account reads that the public endpoints answer with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from blahaj.models import OutboxMessage
from provisioning.models import Operation

from .models import User
from .passwords import Strength, password_strength
from .validators import normalize_email


def user_email_exists(*, email: str) -> bool:
    """Whether an account has this recovery email (case-insensitively, like the constraint)."""
    return User.objects.filter(email__iexact=normalize_email(email)).exists()


def password_strength_for(*, password: str, username: str = "", email: str = "", display_name: str = "") -> Strength:
    """The registration policy's verdict, with the sign-up form's other fields as context."""
    applicant = User(username=username, email=normalize_email(email), display_name=display_name)
    return password_strength(password, user=applicant)


def user_username_exists(*, username: str) -> bool:
    """Whether an account has this username (usernames are stored lower-case)."""
    return User.objects.filter(username=username.strip().lower()).exists()


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


def users_matching(queryset: QuerySet[User], term: str) -> QuerySet[User]:
    """Accounts whose username, display name, email or Discord name contains `term`, in any
    case: the staff API's `?search=` and the admin's search box alike."""
    term = term.strip().lower()
    return queryset.filter(search_text__contains=term) if term else queryset
