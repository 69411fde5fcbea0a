"""The YunoHost lane: durable operations and their state machine.

    pending ──claim──▶ running ──▶ succeeded
       ▲                  ├──────▶ failed   (permanent error, bad secret, or out of attempts)
       └──────────────────┘  busy YunoHost (not an attempt), transient error (backoff),
                             stale heartbeat (the sweeper: its worker died)
    failed ──operation_retry (staff)──▶ pending

An operation is a row first, written in the caller's transaction and queued after it commits.
The runner (`operation_run`, called by `tasks.run_operation`) takes the lane lock, claims the
row with a conditional UPDATE that also checks no earlier operation of its subject is unfinished,
runs the one command, and records the outcome; so a message delivered twice, or re-sent by the
sweeper, is harmless. Secrets travel encrypted in `secret_args`, are decrypted only for the
command, and are wiped when the operation ends.

The apps above (accounts, websites...) queue their operations with `operation_create` and hear
of the outcomes through the callbacks they registered in `outcomes`; the lane never imports them.

Every server has a lane of its own: an operation carries its server (its user's), is sent to that
server's Celery queue, runs under that server's lock, and a run drains only that server's work;
the sweeper takes each server in turn. A slow or dead server holds nothing of another's.

One module per concern:

    records     recording operations (a batch too), their sealed secrets, staff's retry
    runner      running them: the claim, the command, the outcome and who hears of it, the drain
    sweep       the sweeper: running operations whose worker died, messages the broker lost
    reads       what the apps ask YunoHost outside the line (a domain, a user, a server's users)
    ownership   what the lane made on YunoHost, and the users staff import

This package re-exports the public names of those modules (and the servers' look-ups of
servers.py), so callers write `from provisioning import services` and
`services.operation_create(...)` whatever module a concern lives in. Private helpers are not
re-exported: whoever needs one imports it from its module
(`from provisioning.services.runner import _claim`).
"""

from __future__ import annotations

from ..servers import server_by_name, server_first
from .ownership import owned_by_service, owned_records_close, user_intend, users_adopt
from .reads import YunohostReadFailed, domain_on_yunohost, user_on_yunohost, yunohost_users
from .records import (
    NewOperation,
    operation_create,
    operation_replace_secrets,
    operation_retry,
    operation_unfinished,
    operation_update_args,
    operations_create_bulk,
    password_random,
)
from .runner import LaneBusy, operation_queue, operation_run
from .sweep import operations_sweep

__all__ = [
    "LaneBusy",
    "NewOperation",
    "YunohostReadFailed",
    "domain_on_yunohost",
    "operation_create",
    "operation_queue",
    "operation_replace_secrets",
    "operation_retry",
    "operation_run",
    "operation_unfinished",
    "operation_update_args",
    "operations_create_bulk",
    "operations_sweep",
    "owned_by_service",
    "owned_records_close",
    "password_random",
    "server_by_name",
    "server_first",
    "user_intend",
    "user_on_yunohost",
    "users_adopt",
    "yunohost_users",
]
