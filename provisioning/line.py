"""Each server's line: where an operation stands on its server, and how long the server takes.

Every operation takes its server's next ticket when it is queued (`Server.tickets`), and is
`in_line` until its first run. A waiting operation's place is 1 + the tickets between the line's
head (the smallest ticket still in line, one index probe) and its own, less those that left the
line out of order (a range of a partial index holding only them): no scan of the queue. An
operation that ran once and waits again (a busy YunoHost, a retry after an error) has no place,
only the time of its next attempt. The expected start follows from the server's recent command
time, a moving average the lane feeds (`command_timed`).

Where a new member goes, and how each server is doing, are the fleet's (fleet/services.py,
fleet/health.py), which reads the lines from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Operation, Server

Status = Operation.Status
# How much one command's time moves the server's average (about the last ten commands count).
AVERAGE_WEIGHT = 0.1


# --- The line -------------------------------------------------------------------------------------


def tickets_take(server: Server, count: int) -> int:
    """The first of `count` new consecutive tickets of the server's line."""
    with transaction.atomic():
        Server.objects.filter(pk=server.pk).update(tickets=F("tickets") + count)
        last = Server.objects.filter(pk=server.pk).values_list("tickets", flat=True).get()
    return last - count + 1


def _head(server_id: int) -> int | None:
    return (
        Operation.objects.filter(server_id=server_id, in_line=True)
        .order_by("ticket")
        .values_list("ticket", flat=True)
        .first()
    )


def _ahead(server_id: int, head: int, ticket: int) -> int:
    """Operations still in line with a ticket in [head, ticket)."""
    left = Operation.objects.filter(
        server_id=server_id, in_line=False, ticket__isnull=False, ticket__gte=head, ticket__lt=ticket
    ).count()
    return ticket - head - left


def line_length(server: Server) -> int:
    head = _head(server.pk)
    return 0 if head is None else _ahead(server.pk, head, server.tickets + 1)


def line_position(operation: Operation, server_id: int) -> int | None:
    """1 for the next operation the lane of its server (`server_id`) takes; None once it ran,
    or without a ticket."""
    if not operation.in_line or operation.ticket is None or operation.status != Status.PENDING:
        return None
    head = _head(server_id)
    if head is None or head > operation.ticket:
        return 1
    return _ahead(server_id, head, operation.ticket) + 1


@dataclass(frozen=True)
class Place:
    """Where one operation stands, as the pages and the API show it."""

    state: str  # waiting, running, done, failed
    server: str
    position: int | None = None
    estimated_start: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "server": self.server,
            "position": self.position,
            "estimated_start": _iso(self.estimated_start),
        }

    @property
    def minutes(self) -> int | None:
        if self.estimated_start is None:
            return None
        return max(0, round((self.estimated_start - timezone.now()).total_seconds() / 60))

    def sentence(self) -> str:
        """What the pages say to the person waiting; empty once it ran."""
        minutes = self.minutes
        if not minutes:
            about = _("less than a minute")
        else:
            about = ngettext("about %(minutes)s minute", "about %(minutes)s minutes", minutes) % {"minutes": minutes}
        if self.state == "waiting" and self.position is not None:
            return _("You are number %(position)s in line on %(server)s, %(about)s.") % {
                "position": self.position,
                "server": self.server,
                "about": about,
            }
        if self.state == "waiting":
            return _("Waiting to try again on %(server)s, in %(about)s.") % {"server": self.server, "about": about}
        if self.state == "running":
            return _("Being done now on %(server)s.") % {"server": self.server}
        return ""


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


STATES = {Status.PENDING: "waiting", Status.RUNNING: "running", Status.SUCCEEDED: "done", Status.FAILED: "failed"}


def _running_left(server: Server, now: datetime) -> float:
    """Seconds the command running on the server may still take (its average, less its age)."""
    started = (
        Operation.objects.filter(server_id=server.pk, status=Status.RUNNING)
        .values_list("started_at", flat=True)
        .first()
    )
    if started is None:
        return 0.0
    return max(0.0, server.command_seconds - (now - started).total_seconds())


def operation_place(operation: Operation, server: Server) -> Place:
    """The operation's state, and while it waits its place in line and when it should start."""
    state = STATES[Status(operation.status)]
    if operation.status != Status.PENDING:
        return Place(state=state, server=server.name)
    now = timezone.now()
    position = line_position(operation, server.pk)
    if position is None:  # ran once, waits for its next attempt
        return Place(state=state, server=server.name, estimated_start=max(now, operation.next_attempt_at))
    wait = _running_left(server, now) + (position - 1) * server.command_seconds
    return Place(state=state, server=server.name, position=position, estimated_start=now + timedelta(seconds=wait))


# --- What the lane reports ------------------------------------------------------------------------


def command_timed(*, server_id: int, seconds: float) -> None:
    """A command ended on the server: its moving average (the first one replaces the default) and
    the lane's last move (autocommit, after the outcome's transaction: no lock held across it)."""
    now = timezone.now()
    if Server.objects.filter(pk=server_id, last_command_at__isnull=True).update(
        command_seconds=seconds, last_command_at=now
    ):
        return
    Server.objects.filter(pk=server_id).update(
        command_seconds=F("command_seconds") * (1 - AVERAGE_WEIGHT) + seconds * AVERAGE_WEIGHT, last_command_at=now
    )


def lane_counts(server_id: int) -> dict[str, int]:
    """Pending, running and failed operations of one server (the metrics)."""
    rows = (
        Operation.objects.filter(server_id=server_id)
        .filter(Q(status__in=Operation.UNFINISHED) | Q(status=Status.FAILED))
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: n for status, n in rows}
