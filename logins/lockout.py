"""The login lockout: failed attempts counted per account (or per typed name) in the cache; past
ACCOUNTS_LOGIN_MAX_FAILURES within ACCOUNTS_LOGIN_FAILURE_WINDOW the account is locked out for
ACCOUNTS_LOGIN_LOCKOUT seconds. A login's password, a signed-in member's password given again and a
second factor's code all count toward the same budget: each door calls `check` before it looks,
`record_failure` when the attempt failed and `clear_failures` when it succeeded."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from blahaj.errors import TooManyAttempts

if TYPE_CHECKING:
    from accounts.models import User

_FAILURES_KEY = "login:failures:{ident}"
_LOCK_KEY = "login:locked:{ident}"


def ident_for(identifier: str, user: User | None) -> str:
    """Whose budget an attempt spends: the account's when there is one, so that its username
    and its email share one budget of attempts; otherwise what was typed, hashed (any length
    fits a cache key, and the cache holds no typed names)."""
    if user is not None:
        return f"user:{user.pk}"
    return f"name:{hashlib.sha256(identifier.strip().lower().encode()).hexdigest()}"


def check(ident: str) -> None:
    """TooManyAttempts (429, with its Retry-After) while the budget is locked out."""
    locked_until = cache.get(_LOCK_KEY.format(ident=ident))
    if locked_until is not None and locked_until > time.time():
        raise TooManyAttempts(
            retry_after=max(1, int(locked_until - time.time()) + 1),
            message=_("Too many failed login attempts. Try again later."),
        )


def record_failure(ident: str) -> None:
    key = _FAILURES_KEY.format(ident=ident)
    cache.add(key, 0, timeout=settings.ACCOUNTS_LOGIN_FAILURE_WINDOW)
    try:
        failures = cache.incr(key)
    except ValueError:  # the window expired between add and incr
        cache.set(key, 1, timeout=settings.ACCOUNTS_LOGIN_FAILURE_WINDOW)
        failures = 1
    if failures >= settings.ACCOUNTS_LOGIN_MAX_FAILURES:
        lockout = settings.ACCOUNTS_LOGIN_LOCKOUT
        cache.set(_LOCK_KEY.format(ident=ident), time.time() + lockout, timeout=lockout)
        cache.delete(key)


def clear_failures(ident: str) -> None:
    cache.delete(_FAILURES_KEY.format(ident=ident))
