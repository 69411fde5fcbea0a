"""How each YunoHost server is doing: its lane's readiness, and a lane that stopped moving.

Readiness: one `lane:<server>` check per YunoHost server (observability/health.py).

A lane is ready when a worker consumes its queue (a fresh heartbeat) and its YunoHost server
answers. Celery's `inspect ping` asks every worker over the broker and waits a second or more for
answers: too slow and too noisy for a probe every 10 s. Instead, each worker that consumes the
`yunohost` queue writes a heartbeat into the cache every YUNOHOST_WORKER_HEARTBEAT_INTERVAL
seconds from a thread of its main process (started when the worker is ready, stopped when it
shuts down), and the key expires after YUNOHOST_WORKER_HEARTBEAT_STALE seconds: a killed worker
(a host crash, an OOM kill) stops counting within that time. A worker that is alive but whose
pool is stuck on a command still beats: the lane's own operation heartbeat and the sweeper
cover that case, and `blahaj_lane_oldest_pending_seconds` shows it.

YunoHost is asked something cheap with a short timeout (the CLI: `domain list`, which takes no
lock; the API: `GET /installed`, which needs no login), and the answer is kept for
YUNOHOST_PING_INTERVAL seconds so that a probe every 10 s does not start the CLI every 10 s.

One check per server staff have not marked `down`; a worker beats for the servers whose queue it
consumes (`yunohost` for the first server, `yunohost.<name>` for the others).

A stuck lane (`server_health`, `servers_check_stuck`, after each of the lane's sweeps): work
waits and no command ended for STAFF_LANE_STUCK_AFTER. Staff are told once (Discord
`lane_stuck`), and see it in the admin's fleet box, /api/servers/ and `manage.py server list`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.signals import celeryd_after_setup, worker_ready, worker_shutting_down
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import Count, Min
from django.utils import timezone

import notifications
from observability import health
from provisioning.models import Operation, Server
from provisioning.servers import server_names as _all_server_names
from provisioning.servers import server_ping, servers_all

# The name these lines have always had (log filters and alerts use it).
logger = logging.getLogger("provisioning.health")

LANE_QUEUE = "yunohost"
_pings: dict[str, tuple[float, str | None]] = {}
_pings_lock = threading.Lock()


def server_names() -> list[str]:
    """The YunoHost servers the service drives, but those staff marked `down`."""
    return _all_server_names(with_down=False)


def heartbeat_key(server: str) -> str:
    return f"lane-worker-heartbeat:{server}"


def _workers_expected() -> bool:
    # In-process mode (no broker) runs the lane in the web process: there is no worker to wait for.
    return not settings.CELERY_TASK_ALWAYS_EAGER


def _heartbeat_error(server: str) -> str | None:
    try:
        beat = cache.get(heartbeat_key(server))
    except Exception as exc:  # noqa: BLE001 - the cache is down: the cache check says so too
        return f"The lane worker's heartbeat could not be read ({type(exc).__name__})."
    if beat is None:
        return f"No lane worker has beaten in the last {settings.YUNOHOST_WORKER_HEARTBEAT_STALE} s."
    return None


def server_reachable(server: Server, timeout: float) -> str | None:
    """Whether `server` answers (None) or why not; kept for YUNOHOST_PING_INTERVAL seconds."""
    keep = float(settings.YUNOHOST_PING_INTERVAL)
    with _pings_lock:
        last = _pings.get(server.name)
        if last is not None and time.monotonic() - last[0] < keep:
            return last[1]
    error = server_ping(server, timeout)
    with _pings_lock:
        _pings[server.name] = (time.monotonic(), error)
    return error


def forget_pings() -> None:
    """Ask YunoHost again at the next check (tests)."""
    with _pings_lock:
        _pings.clear()


def _lane_check(server: Server) -> health.Check:
    # Runs in a thread of its own: it reads no database (the server's row was read before).
    def check(timeout: float) -> None:
        errors = []
        if _workers_expected():
            errors.append(_heartbeat_error(server.name))
        errors.append(server_reachable(server, timeout))
        found = [error for error in errors if error]
        if found:
            raise health.CheckFailed(" ".join(found))

    return check


def _servers() -> list[Server]:
    try:
        return [server for server in servers_all() if server.state != Server.State.DOWN]
    except DatabaseError:  # the database check says so; the first server's lane is still checked
        return [Server(name=settings.YUNOHOST_SERVER_NAME, queue=LANE_QUEUE, uses_settings=True)]


def lane_checks() -> dict[str, health.Check]:
    return {f"lane:{server.name}": _lane_check(server) for server in _servers()}


# --- A stuck lane --------------------------------------------------------------------------------------


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
        server_id=server.pk, status=Operation.Status.FAILED, finished_at__gte=now - timedelta(hours=1)
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
    for lane in fleet_health():
        server = lane.server
        if lane.stuck and server.stuck_since is None:
            since = max(filter(None, [server.last_command_at, lane.oldest_waiting_at]))
            with transaction.atomic():  # the mark and the ping (an outbox row) together
                if Server.objects.filter(pk=server.pk, stuck_since__isnull=True).update(stuck_since=since):
                    notifications.lane_stuck(
                        server=server.name, waiting=lane.queue_depth, minutes=settings.STAFF_LANE_STUCK_AFTER // 60
                    )
                    told.append(server.name)
        elif not lane.stuck and server.stuck_since is not None:
            Server.objects.filter(pk=server.pk).update(stuck_since=None)
    return told


# --- The worker's heartbeat -------------------------------------------------------------------


class _Beater:
    def __init__(self, queues: set[str] | None = None) -> None:
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.queues = queues or {LANE_QUEUE}

    def beat(self) -> None:
        for queue in sorted(self.queues):
            server = settings.YUNOHOST_SERVER_NAME if queue == LANE_QUEUE else queue.removeprefix(LANE_QUEUE + ".")
            cache.set(heartbeat_key(server), time.time(), timeout=settings.YUNOHOST_WORKER_HEARTBEAT_STALE)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - the cache is down: beat again later
                logger.warning("Could not write the lane worker's heartbeat (%s).", type(exc).__name__)
            self.stop.wait(settings.YUNOHOST_WORKER_HEARTBEAT_INTERVAL)

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="lane-heartbeat", daemon=True)
        self.thread.start()


_beater: _Beater | None = None
_lane_queues: set[str] = set()


@celeryd_after_setup.connect
def _note_queues(sender: Any, instance: Any, **kwargs: Any) -> None:
    global _lane_queues
    consumed = set(instance.app.amqp.queues.consume_from or {})
    _lane_queues = {queue for queue in consumed if queue == LANE_QUEUE or queue.startswith(LANE_QUEUE + ".")}


@worker_ready.connect
def _start_heartbeat(sender: Any, **kwargs: Any) -> None:
    global _beater
    if _lane_queues and _beater is None:
        _beater = _Beater(_lane_queues)
        _beater.start()
        logger.info("Lane worker heartbeat every %s s.", settings.YUNOHOST_WORKER_HEARTBEAT_INTERVAL)


@worker_shutting_down.connect
def _stop_heartbeat(sender: Any, **kwargs: Any) -> None:
    if _beater is not None:
        _beater.stop.set()


health.register(lane_checks)
