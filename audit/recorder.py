"""Who did what, from where: the scope each door opens, and `record`, which writes a row.

A door opens a scope: the HTTP middleware (door from the URL, the client's IP, the signed-in
user read lazily), `command_scope` in management commands, a Celery task's own scope, and the
lane's. Services then call `record(action=..., object=...)` (or wear `@audited(...)`), which
reads the actor and the door from the scope. Nothing is read and nothing is written until a
service records: a request that records nothing costs no query.

Only staff actions are recorded: a person must be staff; anything that is not a person (a
command, a task, the lane) always counts; an anonymous web request never does.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from celery import signals
from django.apps import apps
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from blahaj.errors import ApplicationError
from observability.client_ip import client_ip

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

OBJECT_MAX = 255
DETAIL_MAX = 300


class Door:
    API = "api"
    LEGACY = "legacy"  # the old front end's routes at the site's root (legacy/urls.py)
    ADMIN = "admin"
    PAGE = "page"
    COMMAND = "command"
    TASK = "task"
    LANE = "lane"
    CHOICES = [
        (API, _("API")),
        (LEGACY, _("Legacy route")),
        (ADMIN, _("Admin")),
        (PAGE, _("Page")),
        (COMMAND, _("Management command")),
        (TASK, _("Task")),
        (LANE, _("YunoHost lane")),
    ]
    WEB = frozenset({API, LEGACY, ADMIN, PAGE})
    # A door's former name, still read where a door is asked for (the audit list's `?door=`);
    # stored rows were rewritten to the new one (audit migration 0003).
    FORMER_NAMES = {"seed": LEGACY}


class Result:
    OK = "ok"
    FAILED = "failed"
    REFUSED = "refused"
    CHOICES = [(OK, _("OK")), (FAILED, _("Failed")), (REFUSED, _("Refused"))]


@dataclass
class Scope:
    """One door's view of the caller. `user` once known (JWT authentication sets it), else
    `request.user` (Django's session user, or DRF's once it authenticated), read at record time."""

    door: str
    actor: str = "system"  # the name of a caller that is not a person
    ip: str = ""
    user: Any = None
    request: HttpRequest | None = None
    # Refusals seen inside a transaction that is rolling back: written when the door closes.
    pending: list[dict[str, Any]] = field(default_factory=list)

    def person(self) -> Any:
        user = self.user
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
        return user if user is not None and getattr(user, "is_authenticated", False) else None

    def counts(self) -> bool:
        """Is what this caller does a staff action?"""
        person = self.person()
        if person is not None:
            # Staff, or a program's account acting for staff (the sign-up front end's service
            # account creating accounts through /create_user).
            return bool(person.is_staff or getattr(person, "is_service_account", False))
        return self.door not in Door.WEB

    def where(self) -> str:
        if not self.ip and self.request is not None:
            self.ip = client_ip(self.request)
        return self.ip


_current: ContextVar[Scope | None] = ContextVar("audit_scope", default=None)


def current() -> Scope:
    """The open scope; outside any door, a task's (actor "system")."""
    return _current.get() or Scope(door=Door.TASK)


@contextmanager
def scope(*, door: str, actor: str = "system", ip: str = "", user: Any = None) -> Iterator[Scope]:
    """Open a door: what is recorded inside it is done by `user` (or `actor`) through `door`.

    On the way out, refusals left pending by rolled-back transactions are written.
    """
    opened = Scope(door=door, actor=actor, ip=ip, user=user)
    token = _current.set(opened)
    try:
        yield opened
    finally:
        _current.reset(token)
        flush(opened)


def command_scope(name: str) -> contextlib.AbstractContextManager[Scope]:
    """The scope of a management command that changes state: `with command_scope("yunohost_import"):`."""
    return scope(door=Door.COMMAND, actor=f"command:{name}")


def identify(user: Any) -> None:
    """The door learnt who the caller is (the JWT authentication, once the token checks out)."""
    opened = _current.get()
    if opened is not None:
        opened.user = user


def _row(opened: Scope, *, action: str, object: str, result: str, detail: str) -> dict[str, Any]:
    person = opened.person()
    return {
        "at": timezone.now(),
        "actor_id": person.pk if person is not None else None,
        "actor": person.get_username() if person is not None else opened.actor,
        "door": opened.door,
        "action": action,
        "object": object[:OBJECT_MAX],
        "ip": opened.where(),
        "result": result,
        "detail": detail[:DETAIL_MAX],
    }


def _write(row: dict[str, Any]) -> None:
    apps.get_model("audit", "AuditEntry").objects.create(**row)


def record(*, action: str, object: str, result: str = Result.OK, detail: str = "") -> None:
    """One row: `action` (a stable dotted name, `user.disable`) on `object` (`user:alice`),
    by whoever the open scope says, if that is staff or not a person; written in the caller's
    transaction (it rolls back with it). `detail`: a short sentence, never a secret."""
    opened = current()
    if opened.counts():
        _write(_row(opened, action=action, object=object, result=result, detail=detail))


def refused(*, action: str, object: str, detail: str = "", result: str = Result.REFUSED) -> dict[str, Any] | None:
    """A refused (or failed) staff action, written where it survives the rollback that follows:
    now when no transaction is open, else when the door closes (the scope's `pending`).
    The row, if one is kept; it is in `pending` until then."""
    opened = _current.get()
    door_open = opened is not None
    opened = opened or Scope(door=Door.TASK)
    if not opened.counts():
        return None
    row = _row(opened, action=action, object=object, result=result, detail=detail)
    if door_open and connection.in_atomic_block:
        opened.pending.append(row)
    else:
        # Outside any door, best effort: a transaction around it may roll it back.
        _write(row)
    return row


def flush(opened: Scope) -> None:
    rows, opened.pending = opened.pending, []
    for row in rows:
        try:
            _write(row)
        except Exception:  # the log must not turn an answer into a 500
            logger.exception("Could not write the audit row of a refused %s", row["action"])


def _why(error: BaseException) -> tuple[str, str]:
    if isinstance(error, ApplicationError):
        with translation.override("en"):  # the log reads in one language (a lazy message is read here)
            return Result.REFUSED, f"{error.code}: {error.message}"
    # Not our own error: its class only (its text may quote anything, a secret included).
    return Result.FAILED, type(error).__name__


Target = Callable[[dict[str, Any], Any], str]


def of(kind: str, argument: str, attribute: str = "pk") -> Target:
    """The object named from a keyword argument: `of("user", "user", "username")` is `user:alice`."""
    return lambda kwargs, _: f"{kind}:{getattr(kwargs[argument], attribute)}"


def audited(action: str, *, target: Target, detail: Target | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record a service's outcome: `ok` in its transaction once it returns (put it under
    `@transaction.atomic`), `refused`/`failed` when it raises.

    `target(kwargs, value)` names the object (`value` is what the service returned, None when it
    raised); `detail(kwargs, value)` says more on success. When an audited service calls
    another one that raises, one refused row is kept, named after the outermost action.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                value = function(*args, **kwargs)
            except Exception as error:
                _refused_once(error, action=action, object=target(kwargs, None))
                raise
            with translation.override("en"):  # the log reads in one language, whoever's request it was
                what, why = target(kwargs, value), detail(kwargs, value) if detail else ""
            record(action=action, object=what, detail=why)
            return value

        return wrapper

    return decorate


def _refused_once(error: Exception, *, action: str, object: str) -> None:
    opened = _current.get()
    earlier: dict[str, Any] | None = getattr(error, "_audit_row", None)
    if earlier is not None:
        if opened is not None and any(row is earlier for row in opened.pending):
            earlier["action"], earlier["object"] = action, object[:OBJECT_MAX]
        return
    result, why = _why(error)
    row = refused(action=action, object=object, detail=why, result=result)
    if row is not None:
        with contextlib.suppress(AttributeError):  # an exception type without a __dict__
            error._audit_row = row  # type: ignore[attr-defined]


# --- Celery: a task is a door of its own, unless it runs inside one (an eager task) ----------

_task_tokens: dict[str, Token[Scope | None]] = {}


def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id is not None and _current.get() is None:
        _task_tokens[task_id] = _current.set(Scope(door=Door.TASK))


def _task_finished(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is None:
        return
    opened = _current.get()
    _current.reset(token)
    if opened is not None:
        flush(opened)


def connect_task_signals() -> None:
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="audit-task-started")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="audit-task-finished")
