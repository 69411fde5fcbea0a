"""gunicorn configuration for production: ``gunicorn -c deploy/gunicorn.conf.py blahaj.wsgi``.

nginx in front terminates TLS and forwards to 127.0.0.1:8000 (deploy/nginx/). Values can be
tuned with the environment (the systemd unit reads /etc/blahaj/blahaj.env).
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

# Only nginx on this host talks to gunicorn: never listen on a public address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: the app does blocking I/O (PostgreSQL, Redis) and no long polling.
workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * multiprocessing.cpu_count() + 1, 8))
worker_class = "sync"
# No request should need more than a few seconds: provisioning runs in Celery, not in a request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never grows without bound.
max_requests = 1000
max_requests_jitter = 100
# Heartbeat files in memory: a slow disk must not make the arbiter kill healthy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - heartbeat files, not data
# Header limits below nginx's: an oversized request is refused before Django sees it.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Logs go to stderr, i.e. the journal. The access log has the path without its query string
# (%(U)s, not %(r)s) and no referer: links in emails carry one-time tokens, which must never be
# written to a log. Client addresses are nginx's; nginx's own log has the real ones.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

# Only nginx, on this host, may claim the original scheme through X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "blahaj-web"


# Prometheus (observability/metrics.py): with PROMETHEUS_MULTIPROC_DIR set (the unit sets it), each
# worker writes its counters to files there and /metrics adds them up. A worker that exits
# (recycled by max_requests, or killed) keeps its counters' files, so that totals never go
# back; its live gauges are dropped here.
def child_exit(server: object, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
