"""The outbox: every task a committed change promises goes out, even if the broker is down.

    from blahaj import outbox

    outbox.enqueue("accounts.tasks.send_account_email", kind, user.pk)

`enqueue` writes an `OutboxMessage` row in the caller's transaction (rolled back with it) and,
once that commits, publishes the task at once (the fast path). A message the broker refused,
or accepted and then lost (a Redis that stopped), is published again by the beat's `sweep`
until a worker takes it: a broker outage delays the email, it never loses it. Arguments are
ids and plain texts, never a secret (they sit in the row, the broker and the log).

A worker takes a message once: the task's base class, `OutboxTask`, claims the row with a
conditional UPDATE before the body runs (the publication's task id names the row), and a copy
published twice finds it taken and is ignored. Celery's own retries of the task keep its id,
so they run. A task queued through the outbox must therefore have `base=OutboxTask` (or a
subclass, such as blahaj.mail's `EmailTask`); `enqueue` refuses any other.

In the embedded mode (no broker, tasks run in-process) the fast path runs the task right after
the commit, as before; a delayed one (a countdown) waits for the sweeper.

The lane's operations are not queued here: an `Operation` row is already its own outbox, with
its own sweeper (provisioning/services/sweep.py).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from celery import Task, current_app, shared_task
from celery.exceptions import Ignore
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from blahaj.models import OutboxMessage
from blahaj.queueing import PUBLISH_RETRY

logger = logging.getLogger(__name__)

_ID_PREFIX = "outbox-"
_PRUNE_BATCH = 1000

# Sent by `outbox_retry` in its transaction (keyword `message`): the audit log records the
# staff action (blahaj sits below audit, so it tells rather than imports).
message_retried = Signal()


class OutboxTask(Task):
    """A task that the outbox may publish more than once and that runs once."""

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        message_id = _message_id(task_id)
        if message_id is not None and not _claim(message_id, task_id):
            logger.info("Outbox message %s was taken by another copy; %s[%s] ignored.", message_id, self.name, task_id)
            raise Ignore()


def enqueue(task: Task | str, *args: Any, countdown: float = 0) -> OutboxMessage:
    """Queue `task(*args)` in the caller's transaction; it runs after the commit (`countdown`
    seconds later at the earliest), whatever the broker does meanwhile."""
    task = _task(task)
    if not isinstance(task, OutboxTask):
        raise TypeError(f"{task.name} cannot go through the outbox: its task class is not an OutboxTask.")
    now = timezone.now()
    due = now + timedelta(seconds=countdown)
    message = OutboxMessage.objects.create(
        task=task.name, args=list(args), created_at=now, due_at=due, next_attempt_at=_presumed_lost(due, 0)
    )
    # robust: the change is committed; whatever goes wrong here is the sweeper's to fix.
    transaction.on_commit(lambda: _publish_after_commit(message), robust=True)
    return message


def outbox_sweep(*, now: datetime | None = None) -> int:
    """Publish again the waiting messages no worker took in time; how many were published.

    Rows are locked (SKIP LOCKED: two sweeps never publish the same row) while they are
    published. The first refusal stops the sweep: the broker is down, the rest waits.
    """
    now = now or timezone.now()
    published = 0
    with transaction.atomic():
        due = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxMessage.Status.WAITING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[: settings.OUTBOX_SWEEP_BATCH]
        )
        for message in due:
            outcome = _publish(message, countdown=0)
            if outcome == _REFUSED:
                break
            published += outcome == _PUBLISHED
    return published


def outbox_retry(*, message: OutboxMessage) -> bool:
    """Publish a waiting or failed message again now (staff, from the admin); False if a
    worker took it already."""
    with transaction.atomic():
        locked = (
            OutboxMessage.objects.select_for_update()
            .exclude(status=OutboxMessage.Status.SENT)
            .filter(pk=message.pk)
            .first()
        )
        if locked is None:
            return False
        OutboxMessage.objects.filter(pk=locked.pk).update(
            status=OutboxMessage.Status.WAITING, attempts=0, next_attempt_at=timezone.now()
        )
        locked.status, locked.attempts = OutboxMessage.Status.WAITING, 0
        message_retried.send(sender=OutboxMessage, message=locked)
        _publish(locked, countdown=0)
    return True


def outbox_prune(*, now: datetime | None = None) -> int:
    """Sent messages older than OUTBOX_RETENTION go, a batch per transaction; how many."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.OUTBOX_RETENTION)
    old = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT, sent_at__lt=cutoff)
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:_PRUNE_BATCH]):
        deleted += OutboxMessage.objects.filter(pk__in=ids).delete()[0]
    return deleted


@shared_task(name="blahaj.outbox.sweep", ignore_result=True)
def sweep() -> None:
    if published := outbox_sweep():
        logger.info("Outbox: %d message(s) no worker had taken published again.", published)


@shared_task(name="blahaj.outbox.prune", ignore_result=True)
def prune() -> None:
    if deleted := outbox_prune():
        logger.info("Outbox: %d sent message(s) older than the retention pruned.", deleted)


# --- Publishing -------------------------------------------------------------------------------

_PUBLISHED, _REFUSED, _HELD, _FAILED = "published", "refused", "held", "failed"


def _publish_after_commit(message: OutboxMessage) -> None:
    _publish(message, countdown=max(0.0, (message.due_at - timezone.now()).total_seconds()), first=True)


def _publish(message: OutboxMessage, *, countdown: float, first: bool = False) -> str:
    """Send one publication of the message and record it on the row.

    The first one's success writes nothing: the row already says when to publish it again if
    no worker takes it (`enqueue`), and a worker that does marks it. That spares every email
    a second commit."""
    task = current_app.tasks.get(message.task)
    if not isinstance(task, OutboxTask):
        # Renamed or removed by a deploy since it was queued: no publication can run it.
        _record(message, status=OutboxMessage.Status.FAILED, next_attempt_at=None, last_error="unknown task")
        logger.error("Outbox message %s names no outbox task (%s): failed.", message.pk, message.task)
        return _FAILED
    if countdown > 0 and current_app.conf.task_always_eager:
        # In-process mode has no timer: running it now would defeat the delay.
        logger.info("Not running %s%r now: it is due in %.0f s.", message.task, tuple(message.args), countdown)
        _record(message, next_attempt_at=message.due_at)
        return _HELD
    try:
        task.apply_async(
            args=message.args,
            countdown=countdown,
            task_id=f"{_ID_PREFIX}{message.pk}-{uuid.uuid4().hex}",
            retry=True,
            retry_policy=PUBLISH_RETRY,
        )
    except Exception as exc:  # noqa: BLE001 - any broker or network error: the row stays for the sweeper
        logger.warning(
            "Could not queue %s%r (%s); the outbox publishes it again (message %s).",
            message.task,
            tuple(message.args),
            type(exc).__name__,
            message.pk,
        )
        _record(message, next_attempt_at=max(message.due_at, timezone.now()), last_error=type(exc).__name__)
        return _REFUSED
    if first:
        return _PUBLISHED
    attempts = message.attempts + 1
    if attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        logger.error(
            "Outbox message %s (%s): published %d times, no worker took it.", message.pk, message.task, attempts
        )
        _record(message, attempts=attempts, status=OutboxMessage.Status.FAILED, next_attempt_at=None, last_error="")
    else:
        _record(message, attempts=attempts, next_attempt_at=_presumed_lost(message.due_at, attempts), last_error="")
    return _PUBLISHED


def _record(message: OutboxMessage, **fields: Any) -> None:
    # Only while no worker has taken it: a worker that ran the task (in-process mode, or a fast
    # one) marked it sent already, and that is final.
    OutboxMessage.objects.filter(pk=message.pk).exclude(status=OutboxMessage.Status.SENT).update(**fields)


def _presumed_lost(due: datetime, attempts: int) -> datetime:
    """When a message published `attempts` times, not taken yet, is published again."""
    wait = min(settings.OUTBOX_RETRY_AFTER * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_AFTER_MAX)
    return max(due, timezone.now()) + timedelta(seconds=wait)


# --- The worker's side ------------------------------------------------------------------------


def _message_id(task_id: str | None) -> int | None:
    if not task_id or not task_id.startswith(_ID_PREFIX):
        return None
    number = task_id[len(_ID_PREFIX) :].split("-", 1)[0]
    return int(number) if number.isdecimal() and number.isascii() else None


def _claim(message_id: int, task_id: str) -> bool:
    """Whether this publication runs: it took the row now, or took it before (a Celery retry,
    or a redelivery after its worker died, which carry the arguments themselves).

    The row keeps no arguments once taken: some name a person (an erased account's address, a
    reset request's identifier) who should not stay in the table until the prune."""
    taken = (
        OutboxMessage.objects.filter(pk=message_id)
        .exclude(status=OutboxMessage.Status.SENT)
        .update(
            status=OutboxMessage.Status.SENT,
            sent_at=timezone.now(),
            next_attempt_at=None,
            claimed_by=task_id,
            args=[],
        )
    )
    return bool(taken) or OutboxMessage.objects.filter(pk=message_id, claimed_by=task_id).exists()


def _task(task: Task | str) -> Task:
    # By name: a module can queue a task without importing the tasks module, which imports
    # that module's services (a cycle). Each app imports its tasks in AppConfig.ready().
    return current_app.tasks[task] if isinstance(task, str) else task
