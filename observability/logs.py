"""Log context and the JSON log format.

What a line is about travels in context variables, set once where it is known: the request id,
the user, the route, by `request_context` (the first middleware); the operation's id and kind by
the lane while it runs one (`bound`); the request id again in a task that a request queued (a
header of the task's message, `before_task_publish` / `task_prerun` below). `ContextFilter`
copies them onto every record, so that both formats may use them.

`LOG_FORMAT=json` (settings) gives one JSON object per line (`JsonFormatter`); text, the
default, stays what a developer reads. Neither ever holds a request's body, headers, cookies or
the path itself (paths carry one-time tokens): a request's line names its route template.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

FIELDS = ("request_id", "user_id", "route", "method", "status", "duration_ms", "operation_id", "operation_kind")
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("blahaj_log_context", default=None)
_task_tokens: dict[str, contextvars.Token] = {}

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "blahaj_request_id"
# A client's own id is kept when it is 1-64 of these characters (uuids, base64, ULIDs...).
_SAFE_ID = re.compile(r"[A-Za-z0-9._:+=/@-]{1,64}")

request_logger = logging.getLogger("blahaj.request")


def current() -> dict[str, Any]:
    return _context.get() or {}


def request_id() -> str | None:
    return current().get("request_id")


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add `fields` to every log line written inside the block."""
    token = _context.set({**current(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def safe_request_id(value: str | None) -> str:
    """The client's id when it is safe to echo and log, else a new one."""
    if value and _SAFE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def _user_id(request: HttpRequest) -> int | None:
    # Only a user someone already loaded: the access line must not cost a session query.
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None


_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_template(request: HttpRequest) -> str | None:
    """The matched route as a template (`/api/websites/<pk>/confirm`), never the path itself:
    a regular expression route (DRF's routers) loses its anchors and names its groups."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.route is None:
        return None
    return _template(match.route)


@functools.lru_cache(maxsize=1024)
def _template(route: str) -> str:
    # Routes are the URLconf's, a bounded set: each is rewritten once per process.
    route = _GROUP.sub(r"<\1>", route).replace("^", "").replace("/?$", "").replace("$", "")
    return "/" + route.replace("\\.", ".")


_route = route_template


def request_context(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """The request id (a client's safe `X-Request-ID` kept, else a new one) on the request, on
    every log line and task while it runs, and on the answer; one access line when it ends
    (LOG_FORMAT=json: the text format has gunicorn's access log)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        rid = safe_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = rid  # type: ignore[attr-defined]
        started = time.monotonic()
        token = _context.set({"request_id": rid})
        try:
            response = get_response(request)
            response[REQUEST_ID_HEADER] = rid
            if settings.LOG_FORMAT == "json":
                request_logger.info(
                    "%s %s %s",
                    request.method,
                    _route(request) or "(no route)",
                    response.status_code,
                    extra={
                        "user_id": _user_id(request),
                        "route": _route(request),
                        "method": request.method,
                        "status": response.status_code,
                        "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    },
                )
            return response
        finally:
            _context.reset(token)

    return middleware


class ContextFilter(logging.Filter):
    """Copies the context's fields onto each record (a field the call passed in `extra` wins).

    Django's own line for a 5xx answer ("Internal Server Error: /path") names the route template
    instead of the path, which may hold a one-time token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if record.name == "django.request" and isinstance(request, HttpRequest) and isinstance(record.args, tuple):
            record.args = (*record.args[:-1], _route(request) or "(unrouted path)")
        for name, value in current().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


# --- Tasks: the request id travels in the message's headers -----------------------------------


@before_task_publish.connect
def _publish_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    rid = request_id()
    if rid and headers is not None:
        headers[TASK_HEADER] = rid


@task_prerun.connect
def _bind_request_id(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    rid = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if rid and task_id:
        # A task run in-process (embedded mode) keeps its request's context: only a worker's sets it.
        _task_tokens[task_id] = _context.set({**current(), "request_id": safe_request_id(str(rid))})


@task_postrun.connect
def _unbind_request_id(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        _context.reset(token)
