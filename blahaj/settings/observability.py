"""Health probes, metrics, logs and error reports."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ImproperlyConfigured

from .environment import env_int, env_list, env_str

# /readyz: each check's timeout, and how long one answer is kept (seconds).
READY_CHECK_TIMEOUT = env_int("READY_CHECK_TIMEOUT", 2)
READY_CACHE_SECONDS = env_int("READY_CACHE_SECONDS", 5)
# /metrics is open to these networks (judged on observability.client_ip's client address), or to
# `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1")
METRICS_TOKEN = env_str("METRICS_TOKEN")
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_network!r} is not an address or network.") from None
# Probes and scrapes come over plain HTTP from this host: never redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# "text" (the default: what a developer reads) or "json" (one object per line, for a log
# pipeline: observability/logs.py). Both carry no request body, header, cookie or path.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")
# Celery replaces the root logger's handlers with its own format unless told not to.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "observability.logs.JsonFormatter"},
    },
    # The request id, user, route and the lane's operation on every record (observability/logs.py).
    "filters": {"context": {"()": "observability.logs.ContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's defaults give "django" a handler of its own (every line printed twice, once
        # through the root) and "django.server" one that does not propagate: both go through
        # the root's one handler instead, once, with a timestamp.
        "django": {"handlers": [], "propagate": True},
        # Request bodies never reach a log: passwords travel in them.
        "django.request": {"level": "ERROR"},
        # The dev server's line per request.
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        # asyncssh (the deploys' SFTP uploads) logs every connection and file at INFO.
        "asyncssh": {"level": "WARNING"},
    },
}

# Error reports (observability/sentry.py): off unless SENTRY_DSN is set; never personal data.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from observability import sentry

    sentry.init(
        SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
    )
