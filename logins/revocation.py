"""A per-process mirror of token revocations, kept current through Redis pub/sub.

Checking the denylist and the cut-off in Redis costs every authenticated request a network
round trip, more than the rest of a small request (bench/auth.py). Instead, every revocation
is also published on one channel, and each server process keeps what it needs in memory:
denied jtis, ended login sessions (the tokens' `sid`), published cut-offs and recently seen
users.

Consistency: a request drains its own subscription socket (non-blocking) before it trusts
the mirror. Redis writes a published event to every subscriber before the publisher's
revocation request can even answer, so any request that starts after a revocation finished,
on any process, sees it. The mirror subscribes before it takes its snapshot, so no event falls
in between. Whenever the subscription is not healthy (Redis restarted, not configured), the
caller falls back to asking Redis directly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.client import PubSub

logger = logging.getLogger(__name__)

# The cache keys the mirror snapshots (logins/tokens.py writes them, and imports this module).
DENY_KEY = "jwt:deny:{jti}"
CUTOFF_KEY = "jwt:cutoff:{user_id}"
SESSION_DENY_KEY = "jwt:endsid:{sid}"

_RETRY_SECONDS = 5.0


def channel() -> str:
    """The pub/sub channel of this deployment's auth events.

    Redis channels are shared by every database number of a server, unlike keys: the name
    carries the cache prefix and the database, so two deployments (or two test runs) on one
    Redis never hear each other's revocations.
    """
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    database = urlparse(settings.REDIS_URL).path.lstrip("/") or "0"
    return f"{prefix}:{database}:auth-events"


def publish(event: dict[str, Any]) -> None:
    """Tell every server process; failures are logged (the cache keys remain the truth)."""
    if not settings.REDIS_URL:
        return
    try:
        get_redis_connection("default").publish(channel(), json.dumps(event))
    except Exception as error:  # noqa: BLE001 - any transport error: the fallback path covers it
        logger.warning("Could not publish an auth event: %s", type(error).__name__)


class Mirror:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pubsub: PubSub | None = None
        self._stale = False
        self._retry_at = 0.0
        self.denied: dict[str, float] = {}  # jti -> token expiry
        self.cutoffs: dict[str, float] = {}  # user id -> published cut-off
        self.ended_sessions: dict[str, float] = {}  # session id (the tokens' sid) -> keep until
        self.users: dict[str, tuple[Any, float]] = {}  # user id -> (user, keep until)

    def ready(self) -> bool:
        """Subscribed and up to date with every event published so far."""
        if not settings.REDIS_URL:
            return False
        with self._lock:
            try:
                if self._pubsub is None:
                    if time.monotonic() < self._retry_at:
                        return False
                    self._connect()
                self._drain()
                if self._stale:
                    # redis-py reconnected (and re-subscribed) on its own: whatever was
                    # published meanwhile is lost to us, so start again from a snapshot.
                    self.reset()
                    self._connect()
                    self._drain()
                return True
            except Exception as error:  # noqa: BLE001 - fall back to asking Redis each time
                logger.warning("Auth event subscription lost (%s); asking Redis directly", type(error).__name__)
                self.reset()
                self._retry_at = time.monotonic() + _RETRY_SECONDS
                return False

    def reset(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                self._pubsub.close()
        self._pubsub = None
        self._stale = False
        self.denied.clear()
        self.cutoffs.clear()
        self.ended_sessions.clear()
        self.users.clear()

    def user(self, user_id: str) -> Any | None:
        entry = self.users.get(user_id)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def keep_user(self, user_id: str, user: Any, seconds: float) -> None:
        with self._lock:
            self.users[user_id] = (user, time.monotonic() + seconds)

    def _connect(self) -> None:
        client = get_redis_connection("default")
        pubsub = client.pubsub()
        pubsub.subscribe(channel())
        # Wait for the confirmation: from here on, every event reaches this socket.
        deadline = time.monotonic() + 2
        while pubsub.get_message(timeout=0.5) is None:
            if time.monotonic() > deadline:
                raise TimeoutError("no subscription confirmation")
        pubsub.connection.register_connect_callback(self._on_reconnect)
        self._pubsub = pubsub
        now = time.time()
        patterns = ((DENY_KEY, self.denied), (CUTOFF_KEY, self.cutoffs), (SESSION_DENY_KEY, self.ended_sessions))
        for pattern, target in patterns:
            prefix = pattern.split("{", 1)[0]
            # The mirror runs only with REDIS_URL, where the cache is django-redis's (iter_keys).
            keys = list(cache.iter_keys(f"{prefix}*"))  # type: ignore[attr-defined]
            for key, value in cache.get_many(keys).items():
                name = key[len(prefix) :]
                if pattern is not CUTOFF_KEY:
                    target[name] = float(value) if float(value) > 1 else now + 86400
                else:
                    target[name] = float(value)

    def _on_reconnect(self, connection: Any) -> None:
        self._stale = True

    def _drain(self) -> None:
        pubsub = self._pubsub
        if pubsub is None:  # ready() connects first
            raise RuntimeError("drained before connecting")
        while True:
            message = pubsub.get_message(timeout=0)
            if message is None:
                return
            if message.get("type") == "message":
                self._apply(json.loads(message["data"]))

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("t")
        if kind == "deny":
            self.denied[event["jti"]] = float(event["exp"])
            self._purge_expired()
        elif kind == "session":
            self.ended_sessions[event["sid"]] = float(event["exp"])
            self._purge_expired()
        elif kind == "cutoff":
            uid = str(event["uid"])
            self.cutoffs[uid] = max(self.cutoffs.get(uid, 0.0), float(event["ts"]))
            self.users.pop(uid, None)
        elif kind == "users":
            for uid in event["uids"]:
                self.users.pop(str(uid), None)

    def _purge_expired(self) -> None:
        now = time.time()
        for entries in (self.denied, self.ended_sessions):
            if len(entries) % 256:
                continue
            for key in [key for key, exp in entries.items() if exp < now]:
                del entries[key]


mirror = Mirror()
