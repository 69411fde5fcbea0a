"""The lane's readiness: one `lane:<server>` check per YunoHost server (observability/health.py).

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
"""

from __future__ import annotations

import logging
import shlex
import threading
import time
from typing import Any

import requests
from celery.signals import celeryd_after_setup, worker_ready, worker_shutting_down
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from observability import health

from .models import Server
from .servers import ServerSettings, servers_all
from .servers import server_names as _all_server_names
from .yunohost import CliBackend, YunohostError, _emulator_env

logger = logging.getLogger(__name__)

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


def _ping_now(server: Server, timeout: float) -> str | None:
    """None when the server answered, else why not (a sentence without secrets)."""
    config = ServerSettings(server)
    if config.YUNOHOST_BACKEND == "api":
        try:
            response = requests.get(
                f"{config.YUNOHOST_API_URL.rstrip('/')}/installed",
                timeout=timeout,
                verify=config.YUNOHOST_API_CA_BUNDLE or True,
            )
        except requests.RequestException as exc:
            return f"YunoHost's API did not answer ({type(exc).__name__})."
        if response.status_code != 200:
            return f"YunoHost's API answered HTTP {response.status_code}."
        return None
    client = CliBackend(shlex.split(config.YUNOHOST_BIN), timeout=timeout, lock_timeout=None, env=_emulator_env(config))
    try:
        client.run(["domain", "list"])
    except YunohostError as exc:
        return f"yunohost domain list failed ({type(exc).__name__})."
    return None


def server_reachable(server: Server, timeout: float) -> str | None:
    """Whether `server` answers (None) or why not; kept for YUNOHOST_PING_INTERVAL seconds."""
    keep = float(settings.YUNOHOST_PING_INTERVAL)
    with _pings_lock:
        last = _pings.get(server.name)
        if last is not None and time.monotonic() - last[0] < keep:
            return last[1]
    error = _ping_now(server, timeout)
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
