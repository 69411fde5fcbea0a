"""Recording operations: a row in the caller's transaction, queued after it commits, at the end
of its server's line; its secrets sealed (encrypted) until the command runs. A batch in two
queries; staff's retry of a failed one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from blahaj.crypto import decrypt, encrypt
from blahaj.errors import Conflict
from blahaj.queueing import send_after_commit
from yunohost_client import password_policy

from .. import line, outcomes
from ..models import Operation, Server
from ..servers import server_first

Status = Operation.Status
Kind = Operation.Kind
# Queued by name: provisioning.tasks imports the services.
RUN_OPERATION = "provisioning.tasks.run_operation"
RUN_OPERATIONS = "provisioning.tasks.run_operations"


def _seal(secrets: dict[str, str] | None) -> str:
    return encrypt(json.dumps(secrets)) if secrets else ""


def _unseal(secret_args: str) -> dict[str, str]:
    return json.loads(decrypt(secret_args)) if secret_args else {}


def _server_of(server: Server | None, user: AbstractBaseUser | None) -> Server:
    """The operation's server: the one given, else its user's (every account is placed before
    its first operation), else the first server."""
    if server is not None and server.pk is not None:
        return server
    if server is not None:  # the first server, read before its row existed
        return server_first()
    server_id = getattr(user, "server_id", None)
    found = Server.objects.filter(pk=server_id).first() if server_id else None
    return found or server_first()


def _insert(
    *,
    kind: str,
    subject: str,
    args: dict[str, Any],
    secret_args: str,
    user: AbstractBaseUser | None,
    server: Server,
) -> Operation:
    # The unique (subject, sequence) constraint settles two writers racing for one subject:
    # the loser's savepoint rolls back and it takes the next number.
    for attempt in range(5):
        try:
            with transaction.atomic():
                last = Operation.objects.filter(subject=subject).aggregate(m=Max("sequence"))["m"]
                # The plugin types the user column as accounts.User, which provisioning may not import.
                return Operation.objects.create(  # type: ignore[misc]
                    kind=kind,
                    subject=subject,
                    sequence=(last or 0) + 1,
                    args=args,
                    secret_args=secret_args,
                    user=user,
                    server=server,
                    ticket=line.tickets_take(server, 1),
                    in_line=True,
                )
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def operation_create(
    *,
    kind: str,
    subject: str,
    args: dict[str, Any],
    secrets: dict[str, str] | None = None,
    user: AbstractBaseUser | None = None,
    server: Server | None = None,
) -> Operation:
    """Record an operation after every earlier one of `subject`, on `server` (default: its
    user's server), at the end of that server's line; it is queued on commit."""
    server = _server_of(server, user)
    operation = _insert(kind=kind, subject=subject, args=args, secret_args=_seal(secrets), user=user, server=server)
    send_after_commit(RUN_OPERATION, operation.pk, queue=server.queue)
    return operation


def operation_replace_secrets(*, operation: Operation, secrets: dict[str, str]) -> None:
    """Give a failed operation new secrets, for a staff retry (its own were wiped when it failed)."""
    Operation.objects.filter(pk=operation.pk, status=Status.FAILED).update(secret_args=_seal(secrets))


@transaction.atomic
def operation_update_args(*, operation: Operation, args: dict[str, Any]) -> None:
    """Merge `args` into a failed operation's arguments, for a staff retry (a display name
    changed since it failed: the retry must not bring the old one back)."""
    current = Operation.objects.select_for_update().filter(pk=operation.pk, status=Status.FAILED).first()
    if current is not None:
        current.args = {**current.args, **args}
        current.save(update_fields=["args"])


@dataclass(frozen=True)
class NewOperation:
    """One row for `operations_create_bulk`: no secrets (bulk kinds carry none)."""

    subject: str
    args: dict[str, Any]
    user_id: int | None = None
    server_id: int | None = None  # None: the first server


def operations_create_bulk(*, kind: str, operations: Sequence[NewOperation]) -> list[Operation]:
    """Record many operations in two queries, each after every earlier one of its subject.

    One query reads the last sequence of every subject involved, one INSERT writes the rows;
    a concurrent writer taking a number first makes the savepoint roll back and the batch read
    again. One message is queued after commit: a worker fans it out, so the caller (an HTTP
    request changing a tier of thousands of users) does no per-row work.
    """
    if not operations:
        return []
    for attempt in range(5):
        try:
            with transaction.atomic():
                created = Operation.objects.bulk_create(_sequenced(kind, operations))
            break
        except IntegrityError:
            if attempt == 4:
                raise
    # Our backends (PostgreSQL, SQLite >= 3.35) return the new ids from the INSERT.
    send_after_commit(RUN_OPERATIONS, [op.pk for op in created])
    return created


def _sequenced(kind: str, operations: Sequence[NewOperation]) -> list[Operation]:
    subjects = {op.subject for op in operations}
    last = dict(
        Operation.objects.filter(subject__in=subjects)
        .values("subject")
        .annotate(m=Max("sequence"))
        .values_list("subject", "m")
    )
    first_id = None if all(op.server_id for op in operations) else server_first().pk
    per_server: dict[int, int] = {}
    for op in operations:
        server_id = op.server_id or first_id or 0
        per_server[server_id] = per_server.get(server_id, 0) + 1
    # Each server's tickets in one UPDATE, handed out in the batch's order.
    tickets = {pk: line.tickets_take(Server(pk=pk), count) for pk, count in sorted(per_server.items())}
    rows = []
    for op in operations:
        last[op.subject] = last.get(op.subject, 0) + 1
        server_id = op.server_id or first_id or 0
        rows.append(
            Operation(
                kind=kind,
                subject=op.subject,
                sequence=last[op.subject],
                args=op.args,
                user_id=op.user_id,
                server_id=server_id,
                ticket=tickets[server_id],
                in_line=True,
            )
        )
        tickets[server_id] += 1
    return rows


def password_random() -> str:
    """A password nobody knows that YunoHost accepts at any level of its policy: a staff-made
    account's, until its owner sets theirs."""
    return password_policy.random_password()


def operation_unfinished(*, subject: str, kinds: Sequence[str]) -> bool:
    """Whether an operation of `subject` among `kinds` is pending or running."""
    return Operation.objects.filter(subject=subject, kind__in=list(kinds), status__in=Operation.UNFINISHED).exists()


# --- Staff actions ---------------------------------------------------------------------------


@transaction.atomic
@audit.audited("operation.retry", target=audit.of("operation", "operation"))
def operation_retry(*, operation: Operation) -> Operation:
    """Run a failed operation again, with a fresh budget of attempts; its kind's owner is told
    (`outcomes.retried`) in this transaction."""
    # The row as it is now, not as the caller loaded it: a password change may have given a
    # failed creation its secret back meanwhile (operation_replace_secrets).
    current = Operation.objects.select_for_update().filter(pk=operation.pk, status=Status.FAILED).first()
    if current is None:
        raise Conflict(_("Only a failed operation can be retried."), code="not_failed")
    current.status, current.attempts, current.busy_waits = Status.PENDING, 0, 0
    current.next_attempt_at, current.finished_at = timezone.now(), None
    # Back in its server's line, at its first place (the lane takes the oldest first).
    current.in_line = current.ticket is not None
    if current.kind == Kind.USER_CREATE and not current.secret_args:
        # The sign-up password was wiped when it failed: a random one; the owner resets it.
        current.secret_args = _seal({"password": password_random()})
    current.save(
        update_fields=["status", "attempts", "busy_waits", "next_attempt_at", "finished_at", "secret_args", "in_line"]
    )
    outcomes.retried(current)
    send_after_commit(RUN_OPERATION, operation.pk, queue=current.server.queue)
    operation.refresh_from_db()
    return operation
