"""The YunoHost lane: durable operations and their state machine.

    pending ──claim──▶ running ──▶ succeeded
       ▲                  ├──────▶ failed   (permanent error, bad secret, or out of attempts)
       └──────────────────┘  busy YunoHost (not an attempt), transient error (backoff),
                             stale heartbeat (the sweeper: its worker died)
    failed ──operation_retry (staff)──▶ pending

An operation is a row first, written in the caller's transaction and queued after it commits.
The runner (`operation_run`, called by `tasks.run_operation`) takes the lane lock, claims the
row with a conditional UPDATE that also checks no earlier operation of its subject is unfinished,
runs the one command, and records the outcome; so a message delivered twice, or re-sent by the
sweeper, is harmless. Secrets travel encrypted in `secret_args`, are decrypted only for the
command, and are wiped when the operation ends.

The apps above (accounts, websites...) queue their operations with `operation_create` and hear
of the outcomes through the callbacks they registered in `outcomes`; the lane never imports them.

Every server has a lane of its own: an operation carries its server (its user's), is sent to that
server's Celery queue, runs under that server's lock, and a run drains only that server's work;
the sweeper takes each server in turn. A slow or dead server holds nothing of another's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, connections, transaction
from django.db.models import Exists, F, Max, OuterRef, QuerySet
from django.utils import timezone

import audit
import notifications
from blahaj.crypto import SecretUnreadable, decrypt, encrypt
from blahaj.errors import Conflict
from blahaj.queueing import send_after_commit, send_now
from observability import logs, metrics

from . import commands, fleet, outcomes, owned, password_policy, servers
from .locks import LaneLock, lane_lock
from .models import Operation, Server
from .servers import client_for, servers_all
from .yunohost import YunohostBusy, YunohostError, YunohostPermanent, YunohostUnknownOutcome

logger = logging.getLogger(__name__)

MAX_OUTPUT = 10_000
MAX_ERROR = 2_000
REDACTED = "**********"
Status = Operation.Status
Kind = Operation.Kind
# Queued by name: provisioning.tasks imports this module.
RUN_OPERATION = "provisioning.tasks.run_operation"
RUN_OPERATIONS = "provisioning.tasks.run_operations"


class LaneBusy(Exception):
    """Another command holds the lane; the operation was not touched."""

    def __init__(self, queue: str = "") -> None:
        super().__init__(queue)
        self.queue = queue  # the server's queue, where the operation's message goes again


# --- Recording operations --------------------------------------------------------------------


def _seal(secrets: dict[str, str] | None) -> str:
    return encrypt(json.dumps(secrets)) if secrets else ""


def _unseal(secret_args: str) -> dict[str, str]:
    return json.loads(decrypt(secret_args)) if secret_args else {}


def _server_of(server: Server | None, user: AbstractBaseUser | None) -> Server:
    """The operation's server: the one given, else its user's (every account is placed before
    its first operation), else the first server."""
    if server is not None and server.pk is not None:
        return server
    if server is not None:  # the first server, read before its row existed
        return server_first()
    server_id = getattr(user, "server_id", None)
    found = Server.objects.filter(pk=server_id).first() if server_id else None
    return found or server_first()


def _insert(
    *,
    kind: str,
    subject: str,
    args: dict[str, Any],
    secret_args: str,
    user: AbstractBaseUser | None,
    server: Server,
) -> Operation:
    # The unique (subject, sequence) constraint settles two writers racing for one subject:
    # the loser's savepoint rolls back and it takes the next number.
    for attempt in range(5):
        try:
            with transaction.atomic():
                last = Operation.objects.filter(subject=subject).aggregate(m=Max("sequence"))["m"]
                # The plugin types the user column as accounts.User, which provisioning may not import.
                return Operation.objects.create(  # type: ignore[misc]
                    kind=kind,
                    subject=subject,
                    sequence=(last or 0) + 1,
                    args=args,
                    secret_args=secret_args,
                    user=user,
                    server=server,
                    ticket=fleet.tickets_take(server, 1),
                    in_line=True,
                )
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def operation_create(
    *,
    kind: str,
    subject: str,
    args: dict[str, Any],
    secrets: dict[str, str] | None = None,
    user: AbstractBaseUser | None = None,
    server: Server | None = None,
) -> Operation:
    """Record an operation after every earlier one of `subject`, on `server` (default: its
    user's server), at the end of that server's line; it is queued on commit."""
    server = _server_of(server, user)
    operation = _insert(kind=kind, subject=subject, args=args, secret_args=_seal(secrets), user=user, server=server)
    send_after_commit(RUN_OPERATION, operation.pk, queue=server.queue)
    return operation


def operation_replace_secrets(*, operation: Operation, secrets: dict[str, str]) -> None:
    """Give a failed operation new secrets, for a staff retry (its own were wiped when it failed)."""
    Operation.objects.filter(pk=operation.pk, status=Status.FAILED).update(secret_args=_seal(secrets))


@transaction.atomic
def operation_update_args(*, operation: Operation, args: dict[str, Any]) -> None:
    """Merge `args` into a failed operation's arguments, for a staff retry (a display name
    changed since it failed: the retry must not bring the old one back)."""
    current = Operation.objects.select_for_update().filter(pk=operation.pk, status=Status.FAILED).first()
    if current is not None:
        current.args = {**current.args, **args}
        current.save(update_fields=["args"])


@dataclass(frozen=True)
class NewOperation:
    """One row for `operations_create_bulk`: no secrets (bulk kinds carry none)."""

    subject: str
    args: dict[str, Any]
    user_id: int | None = None
    server_id: int | None = None  # None: the first server


def operations_create_bulk(*, kind: str, operations: Sequence[NewOperation]) -> list[Operation]:
    """Record many operations in two queries, each after every earlier one of its subject.

    One query reads the last sequence of every subject involved, one INSERT writes the rows;
    a concurrent writer taking a number first makes the savepoint roll back and the batch read
    again. One message is queued after commit: a worker fans it out, so the caller (an HTTP
    request changing a tier of thousands of users) does no per-row work.
    """
    if not operations:
        return []
    for attempt in range(5):
        try:
            with transaction.atomic():
                created = Operation.objects.bulk_create(_sequenced(kind, operations))
            break
        except IntegrityError:
            if attempt == 4:
                raise
    # Our backends (PostgreSQL, SQLite >= 3.35) return the new ids from the INSERT.
    send_after_commit(RUN_OPERATIONS, [op.pk for op in created])
    return created


def _sequenced(kind: str, operations: Sequence[NewOperation]) -> list[Operation]:
    subjects = {op.subject for op in operations}
    last = dict(
        Operation.objects.filter(subject__in=subjects)
        .values("subject")
        .annotate(m=Max("sequence"))
        .values_list("subject", "m")
    )
    first_id = None if all(op.server_id for op in operations) else server_first().pk
    per_server: dict[int, int] = {}
    for op in operations:
        server_id = op.server_id or first_id or 0
        per_server[server_id] = per_server.get(server_id, 0) + 1
    # Each server's tickets in one UPDATE, handed out in the batch's order.
    tickets = {pk: fleet.tickets_take(Server(pk=pk), count) for pk, count in sorted(per_server.items())}
    rows = []
    for op in operations:
        last[op.subject] = last.get(op.subject, 0) + 1
        server_id = op.server_id or first_id or 0
        rows.append(
            Operation(
                kind=kind,
                subject=op.subject,
                sequence=last[op.subject],
                args=op.args,
                user_id=op.user_id,
                server_id=server_id,
                ticket=tickets[server_id],
                in_line=True,
            )
        )
        tickets[server_id] += 1
    return rows


def _random_password() -> str:
    return password_policy.random_password()


# --- Reading YunoHost ------------------------------------------------------------------------


def domain_on_yunohost(*, domain: str, server_id: int | None = None) -> bool | None:
    """Whether the server (default: the first) has the domain (`domain list`, a read that takes
    no lock); None when it did not answer within YUNOHOST_REQUEST_TIMEOUT (the lane checks again
    before adding it)."""
    server = Server.objects.filter(pk=server_id).first() if server_id else None
    try:
        listed = client_for(server, timeout=settings.YUNOHOST_REQUEST_TIMEOUT).domain_list().get("domains", [])
    except YunohostError as exc:
        logger.warning("YunoHost's domain list could not be read: %s", exc)
        return None
    return domain in listed


def user_on_yunohost(*, username: str) -> bool | None:
    """Whether a server a new member may be placed on has a user of this name (`user info`);
    None when one did not answer within YUNOHOST_REQUEST_TIMEOUT (the lane's `user create`
    refuses one it did not make)."""
    candidates = [server for server in servers_all() if server.state == Server.State.ACTIVE]
    answer: bool | None = False
    for server in candidates:
        try:
            if client_for(server, timeout=settings.YUNOHOST_REQUEST_TIMEOUT).user_info(username) is not None:
                return True
        except YunohostError as exc:
            logger.warning("YunoHost's user info could not be read on %s: %s", server.name, exc)
            answer = None
    return answer


class YunohostReadFailed(Exception):
    """YunoHost did not answer a read the apps asked for (the text is YunoHost's error)."""


def yunohost_users(*, server: Server | None = None) -> dict[str, dict[str, Any]] | None:
    """The server's users (`user list`, by username; default: the first server), read while
    holding its lane: no operation of ours runs there meanwhile. None when the lane stayed busy
    past YUNOHOST_LANE_WAIT; YunohostReadFailed when YunoHost failed."""
    lock = lane_lock(server.name if server is not None else None)
    if not lock.acquire(wait=settings.YUNOHOST_LANE_WAIT):
        return None
    try:
        return client_for(server).user_list()
    except YunohostError as error:
        raise YunohostReadFailed(str(error)) from None
    finally:
        lock.release()


def server_place(*, chosen: Server | None = None, pinned_id: int | None = None) -> Server:
    """The server a new account goes to, counted there (fleet.py: the placement rule)."""
    return fleet.server_place(chosen=chosen, pinned_id=pinned_id)


def servers_reencrypt() -> tuple[int, list[str]]:
    """The servers' API credentials under the current key (servers.servers_reencrypt)."""
    return servers.servers_reencrypt()


def server_by_name(name: str) -> Server:
    """The server of this name (NotFound, 404 `server_not_found`, if none)."""
    return servers.server_by_name(name)


def server_first() -> Server:
    """The first server: the settings' (provisioning/servers.py)."""
    return servers.server_first()


def user_intend(*, username: str, domain: str, operation: Operation) -> None:
    """Record, with the `user create` just queued, that this service is making the user."""
    owned.user_intend(username, domain, operation)


def users_adopt(*, usernames: list[str], server: Server | None = None) -> int:
    """YunoHost users staff import from `server` (default: the first) become this service's own
    (the lane may then change and delete them) and count there; how many were not already."""
    server = server or server_first()
    adopted = owned.users_adopt(usernames, server.pk)
    if adopted:
        Server.objects.filter(pk=server.pk).update(accounts=F("accounts") + adopted)
    return adopted


def _server_id(name: str | None) -> int | None:
    return servers.server_by_name(name).pk if name else None


def owned_records_close(*, kind: str, name: str, server: str | None = None) -> int:
    """The object YunoHost (the named server) no longer lists is no longer ours to find there
    (see owned.records_close)."""
    return owned.records_close(kind, name, _server_id(server))


def owned_by_service(*, kind: str, name: str, server: str | None = None) -> str | None:
    """If this service made the YunoHost object (`OwnedObject`, kind domain/app/user), the
    domain its record names (an app's, a domain's own, a user's mail domain); else None."""
    record = owned.made_here(kind, name, _server_id(server))
    return record.domain if record is not None else None


def operation_unfinished(*, subject: str, kinds: Sequence[str]) -> bool:
    """Whether an operation of `subject` among `kinds` is pending or running."""
    return Operation.objects.filter(subject=subject, kind__in=list(kinds), status__in=Operation.UNFINISHED).exists()


# --- Staff actions ---------------------------------------------------------------------------


@transaction.atomic
@audit.audited("operation.retry", target=audit.of("operation", "operation"))
def operation_retry(*, operation: Operation) -> Operation:
    """Run a failed operation again, with a fresh budget of attempts; its kind's owner is told
    (`outcomes.retried`) in this transaction."""
    # The row as it is now, not as the caller loaded it: a password change may have given a
    # failed creation its secret back meanwhile (operation_replace_secrets).
    current = Operation.objects.select_for_update().filter(pk=operation.pk, status=Status.FAILED).first()
    if current is None:
        raise Conflict("Only a failed operation can be retried.", code="not_failed")
    current.status, current.attempts, current.busy_waits = Status.PENDING, 0, 0
    current.next_attempt_at, current.finished_at = timezone.now(), None
    # Back in its server's line, at its first place (the lane takes the oldest first).
    current.in_line = current.ticket is not None
    if current.kind == Kind.USER_CREATE and not current.secret_args:
        # The sign-up password was wiped when it failed: a random one; the owner resets it.
        current.secret_args = _seal({"password": _random_password()})
    current.save(
        update_fields=["status", "attempts", "busy_waits", "next_attempt_at", "finished_at", "secret_args", "in_line"]
    )
    outcomes.retried(current)
    send_after_commit(RUN_OPERATION, operation.pk, queue=current.server.queue)
    operation.refresh_from_db()
    return operation


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
        fleet.command_timed(server_id=operation.server.pk, seconds=outcome.seconds)


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


# --- The sweeper -----------------------------------------------------------------------------


def _recover_stale(operation: Operation) -> str | None:
    """A running operation whose worker stopped beating: pending again, or failed if out of
    attempts; its new status, or None if it finished meanwhile. The command may have run:
    idempotent kinds make the re-run safe."""
    error = "The worker running it stopped before it finished."
    if operation.attempts >= settings.YUNOHOST_MAX_ATTEMPTS:
        outcome = Outcome(Status.FAILED, error=f"{error} (gave up after {operation.attempts} attempts)")
    else:
        outcome = Outcome(Status.PENDING, error=error)
    return outcome.status if _finish(operation, outcome) else None


def operations_sweep(*, server: Server | None = None) -> dict[str, int]:
    """Take back running operations with a stale heartbeat, and queue again pending ones
    that are due since more than YUNOHOST_SWEEP_GRACE seconds without having run: on `server`,
    or on each server in turn (YUNOHOST_SWEEP_BATCH each)."""
    if server is None:
        totals = {"recovered": 0, "queued": 0}
        for each in servers_all():
            for name, value in operations_sweep(server=each).items():
                totals[name] += value
        return totals
    now = timezone.now()
    mine = Operation.objects.select_related("server").filter(server_id=server.pk)
    stale = mine.filter(
        status=Status.RUNNING, heartbeat_at__lt=now - timedelta(seconds=settings.YUNOHOST_HEARTBEAT_STALE)
    )
    recovered = {op.pk: _recover_stale(op) for op in stale}
    due = (
        mine.filter(status=Status.PENDING, next_attempt_at__lte=now - timedelta(seconds=settings.YUNOHOST_SWEEP_GRACE))
        .exclude(_earlier_unfinished())
        .order_by("id")
        .values_list("pk", flat=True)[: settings.YUNOHOST_SWEEP_BATCH]
    )
    ids = {pk for pk, status in recovered.items() if status == Status.PENDING} | set(due)
    queued = sum(send_now(RUN_OPERATION, pk, queue=server.queue) for pk in sorted(ids))
    return {"recovered": sum(status is not None for status in recovered.values()), "queued": queued}
