"""The lane locks: at most one YunoHost command at any moment on each server, across every
worker process. Each server has its own lock: a slow or dead server never holds another's.

With Redis (REDIS_URL set) it is a redis-py `Lock` whose expiry outlives the longest command
(YUNOHOST_TIMEOUT plus a margin), refreshed by the runner's heartbeat; if its holder dies, the
lock frees itself once any command it may have left running would have timed out. Waiters do
not poll: a release pushes a token that one waiter's BLPOP takes at once (a dead holder pushes
none, hence a waiter also looks again every second). In the embedded mode (no Redis, tasks run
in-process) it is an flock on a file, which also excludes the threads of one process (each
acquisition opens its own file description).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from typing import Protocol

import redis
from django.conf import settings
from redis.exceptions import LockError

logger = logging.getLogger(__name__)

LOCK_KEY = "blahaj:yunohost:lane"
# Releasing pushes a token here; a waiter blocks on it (BLPOP) instead of polling the lock,
# so the hand-over is immediate and waiting workers cost the machine nothing.
FREED_KEY = "blahaj:yunohost:lane:freed"
# A waiter looks again at least this often: a holder that died sends no token (its lock expires).
_MAX_BLOCK = 1.0
_POLL = 0.01  # the flock's polling period (embedded mode: one process, few waiters)


class LaneLock(Protocol):
    def acquire(self, *, wait: float) -> bool: ...

    def refresh(self) -> None: ...

    def release(self) -> None: ...


class RedisLaneLock:
    def __init__(self, client: redis.Redis, key: str = LOCK_KEY) -> None:
        ttl = settings.YUNOHOST_TIMEOUT + settings.YUNOHOST_LANE_LOCK_MARGIN
        self._client = client
        self._freed = key + ":freed"
        # thread_local=False: the heartbeat thread refreshes a lock the task thread took.
        self._lock = client.lock(key, timeout=ttl, thread_local=False)

    def acquire(self, *, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while not self._lock.acquire(blocking=False):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._client.blpop([self._freed], timeout=min(remaining, _MAX_BLOCK))
        return True

    def refresh(self) -> None:
        try:
            self._lock.reacquire()
        except LockError:
            # Expired: another command may now hold the lane. Nothing safe to do but say so.
            logger.error("The YunoHost lane lock expired while a command was still running.")

    def release(self) -> None:
        try:
            self._lock.release()
        except LockError:
            logger.warning("The YunoHost lane lock had already expired when released.")
        # One token at most, short-lived: a waiter that finds one stale just looks again.
        pipe = self._client.pipeline()
        pipe.lpush(self._freed, 1)
        pipe.ltrim(self._freed, 0, 0)
        pipe.expire(self._freed, 60)
        pipe.execute()


class FileLaneLock:
    def __init__(self, path: str) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self, *, wait: float) -> bool:
        os.makedirs(os.path.dirname(self._path) or ".", exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(_POLL)

    def refresh(self) -> None:
        """An flock lives as long as its holder: nothing to extend."""

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


_clients: dict[tuple[int, str], redis.Redis] = {}


def _redis() -> redis.Redis:
    # One client per process and URL: a forked worker child must not share its parent's sockets.
    key = (os.getpid(), settings.REDIS_URL)
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=_MAX_BLOCK + 10, socket_connect_timeout=5
        )
    return _clients[key]


def lane_lock(server: str | None = None) -> LaneLock:
    """The lane lock of the server of this name; None or the first server's name: the first
    server's, under the key (or file) the single lane always had."""
    first = server is None or server == settings.YUNOHOST_SERVER_NAME
    if settings.REDIS_URL:
        return RedisLaneLock(_redis(), LOCK_KEY if first else f"{LOCK_KEY}:server:{server}")
    path = settings.YUNOHOST_LANE_LOCK_FILE
    return FileLaneLock(path if first else f"{path}.{server}")
