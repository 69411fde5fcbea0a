"""Queue a Celery task without ever failing the caller because the broker is down.

For work that is a database row of its own (the lane's operations): the row is committed
before the task is sent, so a message that cannot be sent is not lost work: the row stays
pending and that row's sweeper sends it again. Everything else a change promises goes through
the outbox (blahaj/outbox.py), which uses these publishing rules. Task arguments are ids and
plain texts, never secrets, so they may be named in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# Kombu's default retries a dead broker for about a second; the sweeper is the real retry.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}


def _task(task: Task | str) -> Task:
    # By name: a module can queue a task without importing the tasks module, which imports
    # that module's services (a cycle). Each app imports its tasks in AppConfig.ready(), so
    # the name is registered in every process, web or worker.
    return current_app.tasks[task] if isinstance(task, str) else task


def send_now(task: Task | str, *args: Any, countdown: float = 0, queue: str | None = None) -> bool:
    """Send the task (or the task of that name), to `queue` rather than its route's; False
    (logged) if the broker refused it or was unreachable."""
    task = _task(task)
    # The app's own setting, not Django's: the tests' `tasks_inline` makes tasks eager on the pass
    # with a broker, and an eager task with a countdown would run now (a busy lane: recursion).
    if countdown > 0 and (settings.CELERY_TASK_ALWAYS_EAGER or current_app.conf.task_always_eager):
        # In-process mode has no timer: running it now would defeat the delay.
        logger.info("Not running %s%r now: it is due in %.0f s.", task.name, args, countdown)
        return False
    try:
        options: dict[str, Any] = {"queue": queue} if queue else {}
        task.apply_async(args=args, countdown=countdown, retry=True, retry_policy=PUBLISH_RETRY, **options)
    except Exception as exc:  # noqa: BLE001 - any broker or network error: the row stays for the sweeper
        logger.warning("Could not queue %s%r (%s); it will be re-queued later.", task.name, args, type(exc).__name__)
        return False
    return True


def send_after_commit(task: Task | str, *args: Any, countdown: float = 0, queue: str | None = None) -> None:
    """Send the task once the caller's transaction commits (at once outside a transaction).

    For a task whose work is a row with its own sweeper (the lane's operations); any other
    email or task a change promises goes through `blahaj.outbox.enqueue`."""
    transaction.on_commit(lambda: send_now(task, *args, countdown=countdown, queue=queue))
