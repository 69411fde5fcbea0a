"""The YunoHost lane's entry points for the other apps.

Placeholder interface, replaced by the lane's implementation (issue 4): until then an
account that reaches `provisioning` honestly stays there.
"""

from __future__ import annotations

from typing import Any


def account_create(*, user: Any) -> None:
    """Queue `user create` for this account (in the caller's transaction)."""


def account_set_password(*, user: Any, password: str) -> None:
    """Queue `user update` with the new password, if the account exists on YunoHost."""


def account_delete(*, user: Any) -> None:
    """Queue `user delete` for this account."""
