"""Reads of the operation log for the apps above the lane."""

from __future__ import annotations

from collections.abc import Iterable

from yunohost_client import password_policy

from . import line
from .models import Operation, Server

Place = line.Place


def operation_last(*, subject: str, kinds: Iterable[str]) -> Operation | None:
    """The latest operation of `subject` among `kinds` (in subject order), whatever its status.

    The apps ask it whether a YunoHost object exists or will exist: e.g. the last of
    `user.create`/`user.delete` of "user:alice" tells whether alice has a YunoHost user.
    """
    return Operation.objects.filter(subject=subject, kind__in=list(kinds)).order_by("-sequence").first()


def password_refused(*, operation: Operation) -> bool:
    """Whether YunoHost refused the password of this failed `user.create` (it is on YunoHost's
    list of common passwords, or too simple for its strength level): another password can fix it."""
    return password_policy.refused_password(operation.error)


def operation_place(operation: Operation, server: Server | None = None) -> line.Place:
    """Where the operation stands on its server (line.py): state, place in line, expected start."""
    return line.operation_place(operation, server if server is not None else operation.server)


def subject_place(*, subject: str) -> line.Place | None:
    """Where the latest operation of `subject` stands (a site's current step); None without one."""
    operation = Operation.objects.filter(subject=subject).select_related("server").order_by("-sequence").first()
    return operation_place(operation) if operation is not None else None
