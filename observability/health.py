"""Health probes: `/healthz` (the process answers) and `/readyz` (what it depends on answers).

`/readyz` runs each check with a short timeout (READY_CHECK_TIMEOUT) and answers 200 when every
check passed, else 503, with each check's time and, when it failed, a sentence of ours (never an
exception's text, which may carry a URL with its password). The answer is kept in this process
for READY_CACHE_SECONDS, so that probes every few seconds from several monitors cost one round.

The checks of this package are the database, the cache and the broker (the last two only when
they are a real server); an app adds its own with `register` (the fleet adds one per YunoHost
server, fleet/health.py). A provider is called at every round and returns the checks of
that moment, so that a list of servers read from the database can replace a fixed one.

Why not django-health-check: its plugins answer HTML or its own JSON shape, check the cache by
writing through it (a probe every 10 s would write to Redis), and have no notion of per-check
timeouts or of checks whose names come from the data (one per server); the contract's JSON and
the lane's heartbeat would have been custom plugins anyway. What is left is a few functions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

logger = logging.getLogger("blahaj.health")  # the name it has always logged under

Check = Callable[[float], None]
"""A check: raises CheckFailed (or anything) when what it checks does not answer; gets its timeout."""

Provider = Callable[[], dict[str, Check]]


class CheckFailed(Exception):
    """A check's failure, with the sentence /readyz shows (no secret, no address with a password)."""


_providers: list[Provider] = []
_lock = threading.Lock()
_last: tuple[float, int, dict[str, Any]] | None = None
# A few threads for the checks that talk to other servers, so that one slow server costs one
# timeout, not the sum. Daemon-like: a check stuck past its timeout does not hold a request.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


def register(provider: Provider) -> None:
    """Add a provider of checks (an app's AppConfig.ready())."""
    if provider not in _providers:
        _providers.append(provider)


def reset() -> None:
    """Forget the kept answer (tests)."""
    global _last
    with _lock:
        _last = None


def _redis_ping(url: str, timeout: float, what: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise CheckFailed(f"{what} did not answer ({type(exc).__name__}).") from None
    finally:
        client.close()


def check_database(timeout: float) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any driver error means "not ready"
        # A broken connection is dropped: the next request opens a new one.
        connection.close_if_unusable_or_obsolete()
        raise CheckFailed(f"The database did not answer ({type(exc).__name__}).") from None


def _cache_url() -> str | None:
    cache = settings.CACHES.get("default", {})
    location = cache.get("LOCATION")
    if "redis" not in cache.get("BACKEND", "").lower() or not location:
        return None
    return location if isinstance(location, str) else location[0]


def check_cache(timeout: float) -> None:
    url = _cache_url()
    if url:
        _redis_ping(url, timeout, "The cache (Redis)")


def broker_configured() -> bool:
    return not settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL.startswith("memory://")


def check_broker(timeout: float) -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        _redis_ping(url, timeout, "The broker")
        return
    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=max(1, int(timeout)))
    except Exception as exc:  # noqa: BLE001 - any transport error
        raise CheckFailed(f"The broker did not answer ({type(exc).__name__}).") from None


def _checks() -> dict[str, Check]:
    checks: dict[str, Check] = {"database": check_database}
    if _cache_url():
        checks["cache"] = check_cache
    if broker_configured():
        checks["broker"] = check_broker
    for provider in _providers:
        checks.update(provider())
    return checks


def _timed(check: Check, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"ok": True}
    try:
        check(timeout)
    except CheckFailed as exc:
        result = {"ok": False, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a check that broke is a failed check, never a 500
        logger.warning("Readiness check raised %s.", type(exc).__name__)
        result = {"ok": False, "error": f"The check could not run ({type(exc).__name__})."}
    return {"ok": result["ok"], "ms": round((time.monotonic() - started) * 1000, 1), **_error(result)}


def _error(result: dict[str, Any]) -> dict[str, str]:
    return {"error": result["error"]} if "error" in result else {}


def run_checks() -> tuple[int, dict[str, Any]]:
    """Every check now: (status code, body)."""
    timeout = float(settings.READY_CHECK_TIMEOUT)
    checks = _checks()
    results: dict[str, dict[str, Any]] = {}
    # The database in this thread (Django's connections are per thread), the rest beside it.
    futures = {name: _pool.submit(_timed, check, timeout) for name, check in checks.items() if name != "database"}
    results["database"] = _timed(checks["database"], timeout)
    deadline = time.monotonic() + timeout + 1
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = {"ok": False, "ms": round(timeout * 1000, 1), "error": "The check did not finish in time."}
    ok = all(result["ok"] for result in results.values())
    failed = sorted(name for name, result in results.items() if not result["ok"])
    if failed:
        logger.warning("Not ready: %s.", ", ".join(failed))
    return (200 if ok else 503), {"status": "ok" if ok else "fail", "checks": dict(sorted(results.items()))}


def readiness() -> tuple[int, dict[str, Any]]:
    """The kept answer while it is fresh, else a new round (one at a time per process)."""
    global _last
    keep = float(settings.READY_CACHE_SECONDS)
    with _lock:
        if _last is not None and time.monotonic() - _last[0] < keep:
            return _last[1], _last[2]
        status, body = run_checks()
        _last = (time.monotonic(), status, body)
        return status, body


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    status, body = readiness()
    response = JsonResponse(body, status=status)
    response._has_been_logged = True  # type: ignore[attr-defined] # run_checks logged which check failed
    return response
