"""Reads of the operation log for the apps above the lane."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Operation


def operation_last(*, subject: str, kinds: Iterable[str]) -> Operation | None:
    """The latest operation of `subject` among `kinds` (in subject order), whatever its status.

    The apps ask it whether a YunoHost object exists or will exist: e.g. the last of
    `user.create`/`user.delete` of "user:alice" tells whether alice has a YunoHost user.
    """
    return Operation.objects.filter(subject=subject, kind__in=list(kinds)).order_by("-sequence").first()
