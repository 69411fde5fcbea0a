"""The sweeper (the beat's `provisioning.tasks.sweep_operations`): on each server in turn, it takes
back the running operations whose worker stopped beating, and queues again the pending ones whose
message the broker lost.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from blahaj.queueing import send_now

from ..models import Operation, Server
from ..servers import servers_all
from .records import RUN_OPERATION
from .runner import Outcome, _earlier_unfinished, _finish

Status = Operation.Status


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
