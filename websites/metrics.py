"""Websites by status and failing certificates, counted when Prometheus scrapes (observability/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from observability import metrics

from .models import Website


def website_gauges() -> Iterator[Metric]:
    by_status = GaugeMetricFamily("blahaj_websites", "Websites, by status.", labels=["status"])
    counts = dict(Website.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in Website.Status.values:
        by_status.add_metric([status], counts.get(status, 0))
    failing = GaugeMetricFamily(
        "blahaj_certificates_failing", "Live websites whose certificate could not be installed or renewed."
    )
    failing.add_metric(
        [],
        Website.objects.filter(certificate=Website.Certificate.FAILING)
        .exclude(status__in=[Website.Status.DELETED, Website.Status.DELETING])
        .count(),
    )
    yield from (by_status, failing)


metrics.register_collector(metrics.FunctionCollector(website_gauges))
