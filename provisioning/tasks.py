"""The lane's Celery tasks. Thin: they take an operation id, never an argument of the command,
and call one service.

`run_operation` goes to its server's queue (named when it is sent: "yunohost" for the first
server, "yunohost.<name>" for the others), read by that server's worker at concurrency 1; the
sweep and a batch's fan-out run on the default queue. Acknowledged late and re-queued if their
worker dies (settings); whatever a broker still loses, the sweeper finds in the operation table.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from blahaj.queueing import send_now

from . import hooks, services
from .models import Operation

logger = logging.getLogger(__name__)

# After waiting YUNOHOST_LANE_WAIT seconds for the lane, a task steps aside for this long.
LANE_RETRY_COUNTDOWN = 1


@shared_task(name="provisioning.tasks.run_operation", ignore_result=True)
def run_operation(operation_id: int) -> None:
    try:
        services.operation_run(operation_id=operation_id)
    except services.LaneBusy as busy:
        # Not an attempt: the operation was not touched. Freed worker slot, message re-sent.
        logger.info("Lane busy for %s s; operation %s re-queued.", settings.YUNOHOST_LANE_WAIT, operation_id)
        send_now(run_operation, operation_id, countdown=LANE_RETRY_COUNTDOWN, queue=busy.queue or None)


@shared_task(name="provisioning.tasks.run_operations", ignore_result=True)
def run_operations(operation_ids: list[int]) -> None:
    """A batch recorded at once (`operations_create_bulk`): one message each, to its server's queue."""
    queues = dict(Operation.objects.filter(pk__in=operation_ids).values_list("pk", "server__queue"))
    for operation_id in operation_ids:
        send_now(run_operation, operation_id, queue=queues.get(operation_id))


@shared_task(name="provisioning.tasks.sweep_operations", ignore_result=True)
def sweep_operations() -> None:
    counts = services.operations_sweep()
    if any(counts.values()):
        logger.info("Sweeper: %(recovered)d stale operation(s) taken back, %(queued)d queued.", counts)
    for follow_up in hooks.after_sweep():  # the fleet's recount and stuck lanes
        follow_up()
