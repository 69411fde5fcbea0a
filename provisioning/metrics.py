"""The lane's gauges, read from the operation table when Prometheus scrapes (observability/metrics.py).

Every query uses the (server, status, created_at) index: each server's pending, running and
failed rows are counted, never the whole history; the server's name labels them (`server`).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from observability import metrics

from . import line
from .models import Operation
from .servers import servers_all


def lane_gauges() -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "blahaj_lane_depth",
        "Operations waiting or running on the lane, by server and status.",
        labels=["server", "status"],
    )
    failed = GaugeMetricFamily(
        "blahaj_lane_failed_operations", "Operations that failed for good (until staff retry them).", labels=["server"]
    )
    oldest = GaugeMetricFamily(
        "blahaj_lane_oldest_pending_seconds",
        "Age of the oldest operation still waiting (0: none waits).",
        labels=["server"],
    )
    now = timezone.now()
    for server in servers_all():
        counts = line.lane_counts(server.pk)
        for status in Operation.UNFINISHED:
            depth.add_metric([server.name, status], counts.get(status, 0))
        failed.add_metric([server.name], counts.get(Operation.Status.FAILED, 0))
        first = Operation.objects.filter(server_id=server.pk, status=Operation.Status.PENDING).aggregate(
            m=Min("created_at")
        )["m"]
        oldest.add_metric([server.name], (now - first).total_seconds() if first else 0.0)
    yield from (depth, failed, oldest)


metrics.register_collector(metrics.FunctionCollector(lane_gauges))
