"""The lane's gauges, read from the operation table when Prometheus scrapes (blahaj/metrics.py).

Every query uses the (status, next_attempt_at) index: pending, running and failed rows are
counted, never the whole history. One server today: its name labels them (`server`), so that
a list of servers can replace it.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from blahaj import metrics

from .health import server_names
from .models import Operation


def lane_gauges() -> Iterator[Metric]:
    (server,) = server_names()
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
    counts = dict(
        Operation.objects.filter(status__in=[*Operation.UNFINISHED, Operation.Status.FAILED])
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    for status in Operation.UNFINISHED:
        depth.add_metric([server, status], counts.get(status, 0))
    failed.add_metric([server], counts.get(Operation.Status.FAILED, 0))
    first = Operation.objects.filter(status=Operation.Status.PENDING).aggregate(m=Min("created_at"))["m"]
    oldest.add_metric([server], (timezone.now() - first).total_seconds() if first else 0.0)
    yield from (depth, failed, oldest)


metrics.register_collector(metrics.FunctionCollector(lane_gauges))
