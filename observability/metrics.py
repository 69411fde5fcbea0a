"""Prometheus metrics: `GET /metrics`, the request middleware, and the counters the apps bump.

Counters and histograms live in each process (under gunicorn and Celery, in prometheus-client's
multiprocess files: PROMETHEUS_MULTIPROC_DIR, shared by the web and worker processes of a host,
deploy/gunicorn.conf.py marks a dead worker's files); `/metrics` adds them up. What the database
knows (the lane's depth, websites by status...) is read when Prometheus scrapes, by the
collectors the apps register (`register_collector`): a few cheap, indexed counts, never per row.

Names start with `blahaj_`. Labels are bounded: a route template, never a path; an error code,
never a message.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from observability.client_ip import client_ip
from observability.logs import route_template

logger = logging.getLogger("blahaj.metrics")  # the name it has always logged under

HTTP_REQUESTS = Counter(
    "blahaj_http_requests_total", "HTTP answers, by route template, method and status.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "blahaj_http_request_duration_seconds",
    "Time to answer, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOGINS = Counter("blahaj_logins_total", "Login attempts (every door), by result: ok or the error code.", ["result"])
SIGNUPS = Counter("blahaj_signups_total", "Sign-ups (API and page), by outcome: ok or the error code.", ["outcome"])
EMAILS = Counter("blahaj_emails_total", "Email deliveries, by result: sent, retrying, failed.", ["result"])
LANE_COMMAND = Histogram(
    "blahaj_lane_command_duration_seconds",
    "Time one YunoHost command of the lane took, by server and operation kind.",
    ["server", "kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
LANE_OPERATIONS = Counter(
    "blahaj_lane_operations_total",
    "Attempts of the lane's operations, by server, kind and result (succeeded, failed, retry, busy).",
    ["server", "kind", "result"],
)

_collectors: list[Collector] = []

T = TypeVar("T")


def register_collector(collector: Collector) -> None:
    """Add a collector whose metrics are read at scrape time (an app's AppConfig.ready())."""
    if collector not in _collectors:
        _collectors.append(collector)


class FunctionCollector:
    """A collector from a function that yields metric families (prometheus-client's protocol)."""

    def __init__(self, function: Callable[[], Iterable[Metric]]) -> None:
        self.function = function

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self.function()
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not fail the whole scrape
            logger.warning("A metrics collector (%s) failed: %s.", self.function.__name__, type(exc).__name__)


def outcome(counter: Counter) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Count each call of the decorated service in `counter`: `ok`, or the error's `code`."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            try:
                result = function(*args, **kwargs)
            except Exception as exc:
                counter.labels(str(getattr(exc, "code", None) or "error")[:40]).inc()
                raise
            counter.labels("ok" if result is not None else "dropped").inc()
            return result

        return wrapper

    return decorate


def middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Count each answer and its time, by route template (unrouted paths as one label)."""

    def count(request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = get_response(request)
        route = route_template(request) or "(unrouted)"
        method = request.method if request.method in _METHODS else "OTHER"
        key = (route, method, response.status_code)
        children = _children.get(key)
        if children is None:
            # labels() takes a lock and builds a tuple each call: keep each series' children.
            children = _children[key] = (
                HTTP_REQUESTS.labels(route, method, str(response.status_code)),
                HTTP_LATENCY.labels(route, method),
            )
        children[0].inc()
        children[1].observe(time.perf_counter() - started)
        return response

    return count


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in settings.METRICS_ALLOWED_NETWORKS]


def scrape_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in _allowed_networks())


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    for collector in _collectors:
        registry.register(collector)
    return registry


class _Default:
    """This process's own metrics (no multiprocess directory: development, tests, one process)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request):
        return JsonResponse({"error": "You may not read the metrics.", "code": "forbidden"}, status=403)
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
