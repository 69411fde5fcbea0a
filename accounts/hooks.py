"""What accounts asks of the apps above it, without importing them: each such app registers its
answer here from its AppConfig.ready(), and accounts calls it through `prunes()`. (The second
factor, which the logins ask of mfa, is logins/hooks.py.)

- What the hourly prune (`services.sessions_prune`, the beat's accounts.tasks.prune_sessions)
  clears besides the ended login sessions and the staff notices sent long ago: each app above
  that keeps rows about a member's account until ACCOUNTS_SESSION_RETENTION is over registers
  a function that deletes the dead ones and answers how many (selfservice: the email changes
  whose links are dead). Nothing registered: nothing more is pruned.
"""

from __future__ import annotations

from collections.abc import Callable

_prunes: list[Callable[[], int]] = []


def register_prune(prune: Callable[[], int]) -> None:
    """Called once by each app that has rows for the hourly prune (selfservice.apps)."""
    if prune not in _prunes:
        _prunes.append(prune)


def prunes() -> tuple[Callable[[], int], ...]:
    return tuple(_prunes)
