"""What the logins ask of the apps above them, without importing them: each such app registers
its answers here from its AppConfig.ready(), and the logins (and accounts) call them through
`second_factor()`.

- The second factor (registered by `mfa`): whether an account has one (then a right password
  is only the login's first step), the one-time token the API's second step is given
  (`mfa_token`, redeemed by mfa), which codes that step takes from the account, and taking
  every device off (an account made a service account cannot answer a code).

Nothing registered is a configuration error, raised where it is asked (never a login that
silently skips its second step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class SecondFactor:
    has_second_factor: Callable[[User], bool]
    login_token: Callable[[User], str]
    code_methods: Callable[[User], list[str]]
    remove_all: Callable[[User], None]


_second_factor: SecondFactor | None = None


def register_second_factor(
    *,
    has_second_factor: Callable[[User], bool],
    login_token: Callable[[User], str],
    code_methods: Callable[[User], list[str]],
    remove_all: Callable[[User], None],
) -> None:
    """Called once, by the app that owns the second factor (mfa.apps)."""
    global _second_factor
    _second_factor = SecondFactor(
        has_second_factor=has_second_factor, login_token=login_token, code_methods=code_methods, remove_all=remove_all
    )


def second_factor() -> SecondFactor:
    if _second_factor is None:
        raise ImproperlyConfigured("No app registered the second factor: put 'mfa' in INSTALLED_APPS.")
    return _second_factor
