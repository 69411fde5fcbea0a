"""Background work: Celery, the beat's schedule, the outbox and the audit log's retention."""

from __future__ import annotations

from .environment import env_int, env_str
from .stores import REDIS_URL

# --- Celery --------------------------------------------------------------------------------

# Embedded mode never sends a message, but eager tasks still open the broker connection for its
# serializer: name a host, or kombu warns "No hostname was supplied" on every task.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL  # embedded mode: tasks run in-process
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
# The lane's runs go to their server's queue (provisioning/servers.py: "yunohost" for the first
# server, "yunohost.<name>" for the others), named when each is sent; the sweep and the fan-out
# of a batch read no YunoHost and run on the default queue, so no one server's worker holds them.
CELERY_TASK_ROUTES = {"provisioning.tasks.run_operation": {"queue": "yunohost"}}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task a worker took but never acknowledged (the worker died) goes back to the
    # queue after this long; the sweeper covers anything the broker itself lost.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
}
CELERY_BEAT_SCHEDULE = {
    "websites-pull-git-sites": {
        "task": "websites.tasks.pull_git_sites",
        "schedule": float(env_int("WEBSITES_GIT_PULL_INTERVAL", 15 * 60)),
    },
    "websites-recheck-domains": {
        "task": "websites.tasks.recheck_domains",
        "schedule": float(env_int("WEBSITES_RECHECK_INTERVAL", 6 * 3600)),
    },
    "provisioning-sweep": {
        "task": "provisioning.tasks.sweep_operations",
        "schedule": float(env_int("YUNOHOST_SWEEP_INTERVAL", 60)),
    },
    # Ended login sessions, dead email-change links (selfservice, through accounts.hooks) and
    # sent staff notices older than ACCOUNTS_SESSION_RETENTION go.
    "accounts-prune-sessions": {
        "task": "accounts.tasks.prune_sessions",
        "schedule": 3600.0,
    },
    # Staff digest emails (notices/tasks.py, under the name it had in accounts): what a lost
    # scheduled message left behind goes out at the latest now.
    "staff-digest": {
        "task": "accounts.tasks.send_staff_digest",
        "schedule": float(env_int("STAFF_DIGEST_WINDOW", 300)),
    },
    # Accounts whose deletion grace period is over are removed (README, "Deleting an account").
    "accounts-finalize-deletions": {
        "task": "accounts.tasks.finalize_deletions",
        "schedule": float(env_int("ACCOUNTS_DELETE_FINALIZE_INTERVAL", 10 * 60)),
    },
    # The audit log keeps AUDIT_RETENTION_DAYS days; older rows go once a day.
    "audit-prune": {
        "task": "audit.tasks.prune_audit_log",
        "schedule": 24 * 3600.0,
    },
    # The outbox (blahaj/outbox.py): messages no worker took yet are published again; sent ones
    # older than OUTBOX_RETENTION go.
    "outbox-sweep": {
        "task": "blahaj.outbox.sweep",
        "schedule": float(env_int("OUTBOX_SWEEP_INTERVAL", 30)),
    },
    "outbox-prune": {
        "task": "blahaj.outbox.prune",
        "schedule": 3600.0,
    },
}

# The outbox: every task a committed change promises (emails, Discord pings, follow-up jobs).
# All durations are in seconds. A published message that no worker took this long after it was
# due is published again, then after twice as long, and so on up to the max.
OUTBOX_RETRY_AFTER = env_int("OUTBOX_RETRY_AFTER", 60)
OUTBOX_RETRY_AFTER_MAX = env_int("OUTBOX_RETRY_AFTER_MAX", 3600)
# Publications again (after the commit's own) the broker accepted without any worker taking the
# message: then it is failed (staff retry it from the admin). A refused publication does not count.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 20)
OUTBOX_SWEEP_INTERVAL = env_int("OUTBOX_SWEEP_INTERVAL", 30)
OUTBOX_SWEEP_BATCH = env_int("OUTBOX_SWEEP_BATCH", 500)
# How long a sent message is kept (the admin shows it) before the hourly prune.
OUTBOX_RETENTION = env_int("OUTBOX_RETENTION", 7 * 24 * 3600)
# --- Audit log -------------------------------------------------------------------------------

AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)
