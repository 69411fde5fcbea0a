"""Running operations: the lane of one server, one command at a time.

The runner (`operation_run`, called by `tasks.run_operation`) takes the server's lane lock,
claims the row with a conditional UPDATE that also checks no earlier operation of its subject is
unfinished, runs the one command, and records the outcome; so a message delivered twice, or
re-sent by the sweeper, is harmless. While it holds the lane it drains whatever else of that
server is runnable. The secrets are unsealed only for the command, and wiped when the operation
ends; the owner of the operation's kind hears of the outcome in the same transaction.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

import audit
import notifications
from blahaj.crypto import SecretUnreadable
from blahaj.queueing import send_now
from observability import logs, metrics
from yunohost_client import YunohostBusy, YunohostError, YunohostPermanent, YunohostUnknownOutcome

from .. import commands, line, outcomes, servers
from ..locks import LaneLock, lane_lock
from ..models import Operation
from .records import RUN_OPERATION, _unseal

# The name the lane's services have always logged under (log filters and alerts use it).
logger = logging.getLogger("provisioning.services")

MAX_OUTPUT = 10_000
MAX_ERROR = 2_000
REDACTED = "**********"
Status = Operation.Status


class LaneBusy(Exception):
    """Another command holds the lane; the operation was not touched."""

    def __init__(self, queue: str = "") -> None:
        super().__init__(queue)
        self.queue = queue  # the server's queue, where the operation's message goes again


# --- Running one operation -------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    output: str = ""
    error: str = ""
    busy: bool = False
    retry_in: float = 0.0
    counted: bool = True  # False: a check failed before YunoHost was asked, no attempt spent
    seconds: float = 0.0  # how long the command took


def _earlier_unfinished() -> Exists:
    return Exists(
        Operation.objects.filter(
            subject=OuterRef("subject"),
            sequence__lt=OuterRef("sequence"),
            status__in=Operation.UNFINISHED,
        )
    )


def _runnable(operation_id: int, now: datetime) -> QuerySet[Operation]:
    return Operation.objects.filter(pk=operation_id, status=Status.PENDING, next_attempt_at__lte=now).exclude(
        _earlier_unfinished()
    )


def _claim(operation: Operation) -> bool:
    """Take the row for this run, if it is still as it was read before the lane lock.

    Every claim sets a new `started_at`, so an unchanged one proves nobody ran the operation
    in between and the row read then (secret included) is the row claimed now.
    """
    now = timezone.now()
    won = (
        _runnable(operation.pk, now)
        .filter(started_at=operation.started_at)
        .update(
            status=Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            in_line=False,
        )
    )
    if won:
        operation.status, operation.attempts, operation.in_line = Status.RUNNING, operation.attempts + 1, False
        operation.started_at = operation.heartbeat_at = now
        operation.finished_at = None
    return bool(won)


class _Heartbeat:
    """While the command runs: refresh the row's heartbeat and the lane lock's expiry."""

    def __init__(self, operation: Operation, lock: LaneLock) -> None:
        self._operation = operation
        self._lock = lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{operation.pk}", daemon=True)

    def _beat(self) -> None:
        op = self._operation
        try:
            while not self._stop.wait(settings.YUNOHOST_HEARTBEAT_INTERVAL):
                Operation.objects.filter(pk=op.pk, status=Status.RUNNING, started_at=op.started_at).update(
                    heartbeat_at=timezone.now()
                )
                self._lock.refresh()
        except Exception:
            logger.exception("The heartbeat of operation %s stopped.", op.pk)
        finally:
            connections.close_all()  # this thread's connections only

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _redact(text: str, secrets: dict[str, str]) -> str:
    for value in secrets.values():
        if value:
            text = text.replace(value, REDACTED)
    return text


def _backoff(base: int, count: int, cap: int) -> float:
    return float(min(cap, base * 2 ** max(count - 1, 0)))


def _transient(operation: Operation, error: str) -> Outcome:
    if operation.attempts >= settings.YUNOHOST_MAX_ATTEMPTS:
        return Outcome(Status.FAILED, error=f"{error} (gave up after {operation.attempts} attempts)")
    delay = _backoff(settings.YUNOHOST_RETRY_BACKOFF, operation.attempts, settings.YUNOHOST_RETRY_BACKOFF_MAX)
    return Outcome(Status.PENDING, error=error, retry_in=delay)


def _not_yet(operation: Operation, exc: commands.NotYet, error: str) -> Outcome:
    """The step's effect cannot happen yet (a certificate: docs/yunohost.md §10.1).

    An attempt that asked YunoHost waits the next delay of YUNOHOST_CERT_RETRY_SCHEDULE and fails
    once the schedule is used up; a check that failed first spends no attempt and comes back after
    YUNOHOST_CERT_DNS_RECHECK, a quarter of the time waited so far, at most the max.
    """
    output = json.dumps(exc.detail, sort_keys=True)
    if not exc.attempted:
        waited = (timezone.now() - operation.created_at).total_seconds()
        delay = min(max(settings.YUNOHOST_CERT_DNS_RECHECK, waited / 4), settings.YUNOHOST_CERT_DNS_RECHECK_MAX)
        return Outcome(Status.PENDING, output=output, error=error, retry_in=delay, counted=False)
    schedule = settings.YUNOHOST_CERT_RETRY_SCHEDULE
    if operation.attempts > len(schedule):
        return Outcome(Status.FAILED, output=output, error=f"{error} (gave up after {operation.attempts} attempts)")
    return Outcome(Status.PENDING, output=output, error=error, retry_in=schedule[operation.attempts - 1])


@contextlib.contextmanager
def _timed(operation: Operation, took: list[float]) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        took.append(time.monotonic() - started)
        metrics.LANE_COMMAND.labels(operation.server.name, operation.kind).observe(took[-1])


def _count(operation: Operation, outcome: Outcome) -> None:
    result = "busy" if outcome.busy else ("retry" if outcome.status == Status.PENDING else outcome.status)
    metrics.LANE_OPERATIONS.labels(operation.server.name, operation.kind, result).inc()
    if outcome.counted and not outcome.busy:
        line.command_timed(server_id=operation.server.pk, seconds=outcome.seconds)


def _execute(operation: Operation, lock: LaneLock) -> Outcome:
    took: list[float] = []
    outcome = _execute_timed(operation, lock, took)
    outcome.seconds = took[-1] if took else 0.0
    return outcome


def _execute_timed(operation: Operation, lock: LaneLock, took: list[float]) -> Outcome:
    try:
        secrets = _unseal(operation.secret_args)
    except SecretUnreadable:
        return Outcome(Status.FAILED, error="The operation's secret cannot be decrypted (DJANGO_SECRET_KEY changed).")
    try:
        with _Heartbeat(operation, lock), _timed(operation, took):
            result = commands.execute(
                operation.kind, operation.args, secrets, operation_id=operation.pk, server=operation.server
            )
    except YunohostBusy:
        delay = _backoff(settings.YUNOHOST_BUSY_BACKOFF, operation.busy_waits + 1, settings.YUNOHOST_BUSY_BACKOFF_MAX)
        return Outcome(Status.PENDING, error="YunoHost was busy with another command.", busy=True, retry_in=delay)
    except YunohostUnknownOutcome as exc:
        # Not a failure: the command goes on on YunoHost. The next run reads the server's state
        # once its lock is free (the kinds are idempotent), like after a busy answer.
        delay = _backoff(settings.YUNOHOST_BUSY_BACKOFF, operation.busy_waits + 1, settings.YUNOHOST_BUSY_BACKOFF_MAX)
        return Outcome(Status.PENDING, error=_redact(str(exc), secrets)[:MAX_ERROR], busy=True, retry_in=delay)
    except YunohostPermanent as exc:
        return Outcome(Status.FAILED, error=_redact(str(exc), secrets)[:MAX_ERROR])
    except commands.NotYet as exc:
        return _not_yet(operation, exc, _redact(str(exc), secrets)[:MAX_ERROR])
    except YunohostError as exc:
        return _transient(operation, _redact(str(exc), secrets)[:MAX_ERROR])
    except Exception as exc:  # a bug or an environment problem: logged, retried like a transient error
        logger.exception("Operation %s (%s) raised an unexpected error.", operation.pk, operation.kind)
        return _transient(operation, f"Unexpected error: {type(exc).__name__}.")
    output = json.dumps(result, ensure_ascii=False, sort_keys=True) if result is not None else ""
    return Outcome(Status.SUCCEEDED, output=_redact(output, secrets)[:MAX_OUTPUT])


def _finish_fields(operation: Operation, outcome: Outcome, now: datetime) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": outcome.status, "error": outcome.error, "heartbeat_at": now}
    if outcome.output:
        fields["output"] = outcome.output
    if outcome.status == Status.PENDING:
        fields["next_attempt_at"] = now + timedelta(seconds=outcome.retry_in)
        if outcome.busy or not outcome.counted:  # not an attempt: give back the one the claim counted
            fields["attempts"] = F("attempts") - 1
        if outcome.busy:
            fields["busy_waits"] = F("busy_waits") + 1
    else:
        fields["finished_at"] = now
        fields["secret_args"] = ""
    return fields


def _finish(operation: Operation, outcome: Outcome) -> bool:
    now = timezone.now()
    with transaction.atomic():
        # started_at is the claim's token: if the sweeper took the row back meanwhile (a stale
        # heartbeat), this run's result is dropped and the newer claim's stands.
        fields = _finish_fields(operation, outcome, now)
        won = Operation.objects.filter(pk=operation.pk, status=Status.RUNNING, started_at=operation.started_at).update(
            **fields
        )
        if not won:
            logger.warning("Operation %s was taken back while running; its result is dropped.", operation.pk)
            return False
        _audit_outcome(operation, outcome)
        if outcome.status != Status.PENDING:
            for name, value in fields.items():  # final outcomes set plain values, no F()
                setattr(operation, name, value)
            _on_finished(operation)
    return True


def _audit_outcome(operation: Operation, outcome: Outcome) -> None:
    """Each attempt's outcome is a row of the audit log (door and actor `lane`), in the
    transaction that records it. A busy wait, or a check that failed before YunoHost was asked,
    is no attempt and leaves no row."""
    if outcome.busy or not outcome.counted:
        return
    if outcome.status == Status.SUCCEEDED:
        result, detail = audit.Result.OK, f"operation {operation.pk} succeeded (attempt {operation.attempts})"
    elif outcome.status == Status.FAILED:
        result, detail = audit.Result.FAILED, f"operation {operation.pk} failed for good: {outcome.error}"
    else:
        result = audit.Result.FAILED
        detail = f"operation {operation.pk}, attempt {operation.attempts} failed, will retry: {outcome.error}"
    with audit.scope(door=audit.Door.LANE, actor="lane"):
        audit.record(action=f"lane.{operation.kind}", object=operation.subject, result=result, detail=detail)


def _next_runnable(previous: Operation) -> Operation | None:
    """What the server's lane should run next: the next step of the same subject, else the
    server's oldest due operation.

    Two queries that each stop at their first row (the subject's index, then the primary key)
    rather than one that sorts every pending row: a backlog would make that quadratic.
    """
    due = (
        Operation.objects.select_related("server")
        .filter(server=previous.server, status=Status.PENDING, next_attempt_at__lte=timezone.now())
        .exclude(_earlier_unfinished())
    )
    return due.filter(subject=previous.subject).order_by("sequence").first() or due.order_by("id").first()


# The thread running the lane (inside operation_run). With in-process tasks (the embedded mode,
# the tests' tasks_inline) a message an outcome callback queues runs at once, in that very thread:
# waiting for the lane there would wait for itself (the flock or the Redis lock is not
# re-entrant) for YUNOHOST_LANE_WAIT seconds. Such a run is deferred instead (`deferred`): the
# holder's loop takes the operation if it is runnable, and queues it again once it let go.
_holder = threading.local()


def operation_run(*, operation_id: int) -> None:
    """Run the operation if it is due and first in its subject; raise LaneBusy if the lane
    stayed taken for YUNOHOST_LANE_WAIT seconds.

    While it holds the lane, it goes on with whatever else is runnable, for up to
    YUNOHOST_LANE_DRAIN seconds: a backlog then costs one claim per operation instead of a
    broker round trip, and the other operations' messages find them done (a no-op).
    """
    if getattr(_holder, "holding", False):
        _holder.deferred.append(operation_id)  # an in-process task of this thread's own run
        return
    operation = _runnable(operation_id, timezone.now()).select_related("server").first()
    if operation is None:
        return  # done, running, not due yet (a delayed message exists) or waiting its turn
    server = operation.server
    lock = lane_lock(server.name)
    if not lock.acquire(wait=settings.YUNOHOST_LANE_WAIT):
        raise LaneBusy(server.queue)
    _holder.holding, _holder.deferred = True, []
    try:
        outcomes = _drain(operation, lock)
    finally:
        _holder.holding = False
        lock.release()
    _queue_follow_ups(outcomes)
    for pk in dict.fromkeys(_holder.deferred):  # each once, in order; one already run is a no-op
        send_now(RUN_OPERATION, pk, queue=operation_queue(operation_id=pk))


def _drain(operation: Operation | None, lock: LaneLock) -> list[tuple[Operation, Outcome]]:
    """Run `operation`, then whatever else is runnable, until YUNOHOST_LANE_DRAIN is spent."""
    outcomes: list[tuple[Operation, Outcome]] = []
    deadline = time.monotonic() + settings.YUNOHOST_LANE_DRAIN
    while operation is not None:
        with logs.bound(operation_id=operation.pk, operation_kind=operation.kind):
            if _claim(operation):
                outcome = _execute(operation, lock)
                if _finish(operation, outcome):
                    _count(operation, outcome)
                    outcomes.append((operation, outcome))
                if outcome.busy:
                    break  # YunoHost runs someone else's command: the next would wait too
        if time.monotonic() >= deadline:
            break
        operation = _next_runnable(operation)
        lock.refresh()  # a long drain must not outlive the lock's expiry
    return outcomes


def operation_queue(*, operation_id: int) -> str:
    """The Celery queue of the operation's server."""
    queue = Operation.objects.filter(pk=operation_id).values_list("server__queue", flat=True).first()
    return queue or servers.FIRST_QUEUE


def _queue_follow_ups(outcomes: list[tuple[Operation, Outcome]]) -> None:
    """Messages for what this run leaves to others: its own retries, and the next pending
    step of each subject it finished a step of (its message may have come while it waited)."""
    for operation, outcome in outcomes:
        if outcome.status == Status.PENDING:
            send_now(RUN_OPERATION, operation.pk, countdown=outcome.retry_in, queue=operation.server.queue)
    subjects = {op.subject for op, outcome in outcomes if outcome.status != Status.PENDING}
    if not subjects:
        return
    following = (
        Operation.objects.filter(subject__in=subjects, status=Status.PENDING)
        .exclude(_earlier_unfinished())
        .values_list("pk", "next_attempt_at", "server__queue")
    )
    now = timezone.now()
    for pk, due, queue in following:
        send_now(RUN_OPERATION, pk, countdown=max(0.0, (due - now).total_seconds()), queue=queue)


# --- What an outcome means to the rest of the system -----------------------------------------


def _on_finished(operation: Operation) -> None:
    # In _finish's transaction: see provisioning/outcomes.py for why.
    if operation.status == Status.SUCCEEDED:
        outcomes.succeeded(operation)
        return
    if not outcomes.registered(operation.kind).on_failed:
        # A kind whose owner registered a failure callback tells staff in its own words there
        # (a failed account creation names the account); any other failure is told here.
        notifications.operation_failed(
            operation_id=operation.pk,
            kind=operation.kind,
            subject=operation.subject,
            attempts=operation.attempts,
            error=operation.error,
        )
    outcomes.failed(operation)
