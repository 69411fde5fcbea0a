"""What the lane asks of the apps above it, besides the outcomes of operations (outcomes.py),
without importing them: each such app registers here from its AppConfig.ready().

- What the sweep (the beat's provisioning.tasks.sweep_operations) does once it has swept the
  operations: the fleet recounts each server's accounts and sites from the lane's records and
  tells staff about a lane that stopped moving (fleet/apps.py). Nothing registered: nothing more.
"""

from __future__ import annotations

from collections.abc import Callable

_after_sweep: list[Callable[[], None]] = []


def register_after_sweep(follow_up: Callable[[], None]) -> None:
    """Called once by each app with work for the end of every sweep (fleet.apps)."""
    if follow_up not in _after_sweep:
        _after_sweep.append(follow_up)


def after_sweep() -> tuple[Callable[[], None], ...]:
    return tuple(_after_sweep)
