"""The fleet of YunoHost servers: where a new member goes, each server's line, and its health.

Placement (`server_place`), the rule docs/architecture.md states: a member is placed once, when
their YunoHost user is first queued, and stays there. Staff's choice wins (an account created
by hand on a server, an import's `--server`). Otherwise, among the `active` servers with room
(fewer accounts than `capacity_accounts` and fewer sites than `capacity_sites`): the tier's
pinned server if it is one of them; else the one where a new operation would start soonest (its
line's length times its recent command time; a server that never ran a command counts as quick
as the others' average), then the one using the smallest share of its account capacity, then by
name. When every active server is full, the least loaded active one
takes the member over its capacity (logged); with no active server at all the account cannot be
created (503 `no_server`).

The line: every operation takes its server's next ticket when it is queued (`Server.tickets`),
and is `in_line` until its first run. A waiting operation's place is 1 + the tickets between the
line's head (the smallest ticket still in line, one index probe) and its own, less those that
left the line out of order (a range of a partial index holding only them): no scan of the queue.
An operation that ran once and waits again (a busy YunoHost, a retry after an error) has no
place, only the time of its next attempt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

import notifications
from blahaj.errors import ApplicationError

from .models import Operation, OwnedObject, Server
from .servers import server_first, servers_all

logger = logging.getLogger(__name__)

Status = Operation.Status
# How much one command's time moves the server's average (about the last ten commands count).
AVERAGE_WEIGHT = 0.1


class NoServer(ApplicationError):
    status_code = 503
    code = "no_server"
    message = "No YunoHost server takes new accounts at the moment; try again later."


# --- Placement -----------------------------------------------------------------------------------


def _has_room(server: Server) -> bool:
    return server.accounts < server.capacity_accounts and server.sites < server.capacity_sites


def _choose(candidates: list[Server], pinned_id: int | None) -> Server:
    with_room = [server for server in candidates if _has_room(server)]
    for server in with_room:
        if server.pk == pinned_id:
            return server
    if not with_room:
        logger.warning("Every active YunoHost server is full: the least loaded one takes the member.")
    pool = with_room or candidates
    # A server that never ran a command is taken to be as quick as the others are.
    measured = [server.command_seconds for server in pool if server.last_command_at is not None]
    usual = sum(measured) / len(measured) if measured else None

    def load(server: Server) -> tuple[float, float, str]:
        seconds = server.command_seconds if server.last_command_at is not None or usual is None else usual
        return (
            round(line_length(server) * seconds, 3),
            server.accounts / max(server.capacity_accounts, 1),
            server.name,
        )

    return min(pool, key=load)


@transaction.atomic
def server_place(*, chosen: Server | None = None, pinned_id: int | None = None) -> Server:
    """The server a new account goes to (staff's `chosen` one, else the rule above), counted
    there at once. The active servers' rows stay locked until the caller's transaction ends,
    so two sign-ups at once see each other's placement."""
    if chosen is not None:
        server = Server.objects.select_for_update().get(pk=chosen.pk)
    else:
        candidates = list(Server.objects.select_for_update().filter(state=Server.State.ACTIVE).order_by("pk"))
        if not candidates:
            if Server.objects.exists():
                raise NoServer()
            candidates = [Server.objects.select_for_update().get(pk=server_first().pk)]
        server = _choose(candidates, pinned_id)
    Server.objects.filter(pk=server.pk).update(accounts=F("accounts") + 1)
    server.accounts += 1
    return server


def servers_recount() -> None:
    """Set each server's counters to what the records of the lane say it holds (live users and
    apps it made or adopted): placements count at once, removals here, every sweep."""
    counts: dict[tuple[int, str], int] = {
        (row["server"], row["kind"]): row["n"]
        for row in OwnedObject.objects.filter(state__in=OwnedObject.ALIVE, server__isnull=False)
        .values("server", "kind")
        .annotate(n=Count("id"))
    }
    with transaction.atomic():
        for server in Server.objects.select_for_update().order_by("pk"):
            accounts = counts.get((server.pk, OwnedObject.Kind.USER), 0)
            sites = counts.get((server.pk, OwnedObject.Kind.APP), 0)
            if (server.accounts, server.sites) != (accounts, sites):
                Server.objects.filter(pk=server.pk).update(accounts=accounts, sites=sites)


# --- The line ------------------------------------------------------------------------------------


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
        about = "less than a minute" if not minutes else f"about {minutes} minute{'s' if minutes != 1 else ''}"
        if self.state == "waiting" and self.position is not None:
            return f"You are number {self.position} in line on {self.server}, {about}."
        if self.state == "waiting":
            return f"Waiting to try again on {self.server}, in {about}."
        if self.state == "running":
            return f"Being done now on {self.server}."
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


# --- Health --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    server: Server
    queue_depth: int
    oldest_waiting_at: datetime | None
    failures_last_hour: int
    stuck: bool


def _stuck(server: Server, depth: int, oldest: datetime | None, now: datetime) -> bool:
    """Work waits, and the lane has not finished a command since STAFF_LANE_STUCK_AFTER."""
    if not depth or oldest is None:
        return False
    moved = max(filter(None, [server.last_command_at, oldest]))
    return now - moved > timedelta(seconds=settings.STAFF_LANE_STUCK_AFTER)


def server_health(server: Server, *, now: datetime | None = None) -> Health:
    now = now or timezone.now()
    unfinished = Operation.objects.filter(server_id=server.pk, status__in=Operation.UNFINISHED)
    summary = unfinished.aggregate(depth=Count("id"), oldest=Min("created_at"))
    failures = Operation.objects.filter(
        server_id=server.pk, status=Status.FAILED, finished_at__gte=now - timedelta(hours=1)
    ).count()
    depth, oldest = summary["depth"], summary["oldest"]
    return Health(server, depth, oldest, failures, _stuck(server, depth, oldest, now))


def fleet_health() -> list[Health]:
    now = timezone.now()
    return [server_health(server, now=now) for server in servers_all()]


def servers_check_stuck() -> list[str]:
    """Tell staff once about each server whose lane stopped moving; forget it once it moves.
    The names of the servers told now."""
    told = []
    for health in fleet_health():
        server = health.server
        if health.stuck and server.stuck_since is None:
            since = max(filter(None, [server.last_command_at, health.oldest_waiting_at]))
            with transaction.atomic():  # the mark and the ping (an outbox row) together
                if Server.objects.filter(pk=server.pk, stuck_since__isnull=True).update(stuck_since=since):
                    notifications.lane_stuck(
                        server=server.name, waiting=health.queue_depth, minutes=settings.STAFF_LANE_STUCK_AFTER // 60
                    )
                    told.append(server.name)
        elif not health.stuck and server.stuck_since is not None:
            Server.objects.filter(pk=server.pk).update(stuck_since=None)
    return told


def lane_counts(server_id: int) -> dict[str, int]:
    """Pending, running and failed operations of one server (the metrics)."""
    rows = (
        Operation.objects.filter(server_id=server_id)
        .filter(Q(status__in=Operation.UNFINISHED) | Q(status=Status.FAILED))
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: n for status, n in rows}
