"""What the lane tells the apps above it: a registry of outcome callbacks, keyed by operation kind.

The lane is below accounts, tiers and websites and never imports them; an app that owns the
state an operation kind is about registers what should happen when one of its operations
succeeds, fails for good, or is retried by staff, in its `AppConfig.ready()`:

    outcomes.register(Operation.Kind.USER_CREATE, on_succeeded=..., on_failed=..., on_retried=...)

A callback is called as `callback(operation=...)` with the finished (or retried) `Operation`
(keyword-only, like every service) and returns nothing.

When they run: inside the lane's transaction that records the outcome (or the retry), on purpose.
The app's state change then commits together with the operation's status, or not at all: a
crash in between can never leave an operation succeeded and its account stuck in
`provisioning`, which nothing would repair. The price is that a callback must do no I/O itself:
whatever leaves the process (an email, a cache invalidation, a notification) it queues with
`transaction.on_commit`, as the project's services already do. If a callback raises, the
outcome is rolled back with it: the operation stays `running` until the sweeper takes it back
and runs the (idempotent) command again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .models import Operation


class Callback(Protocol):
    def __call__(self, *, operation: Operation) -> None: ...


@dataclass(frozen=True)
class Callbacks:
    on_succeeded: Callback | None = None
    on_failed: Callback | None = None
    on_retried: Callback | None = None


_registry: dict[str, Callbacks] = {}


def register(
    kind: str,
    *,
    on_succeeded: Callback | None = None,
    on_failed: Callback | None = None,
    on_retried: Callback | None = None,
) -> None:
    """Make one app the owner of `kind`'s outcomes. A second, different owner is a bug."""
    callbacks = Callbacks(on_succeeded=on_succeeded, on_failed=on_failed, on_retried=on_retried)
    if _registry.get(kind, callbacks) != callbacks:
        raise ValueError(f"Outcome callbacks for {kind!r} are registered already.")
    _registry[kind] = callbacks


def registered(kind: str) -> Callbacks:
    return _registry.get(kind, Callbacks())


def succeeded(operation: Operation) -> None:
    if callback := registered(operation.kind).on_succeeded:
        callback(operation=operation)


def failed(operation: Operation) -> None:
    if callback := registered(operation.kind).on_failed:
        callback(operation=operation)


def retried(operation: Operation) -> None:
    if callback := registered(operation.kind).on_retried:
        callback(operation=operation)
