"""What websites do when the accounts app says something happened (accounts/signals.py)."""

from __future__ import annotations

from typing import Any

from . import services


def account_disabled(*, user: Any, **kwargs: Any) -> None:
    services.websites_suspend_with_account(user=user)


def account_enabled(*, user: Any, **kwargs: Any) -> None:
    services.websites_unsuspend_with_account(user=user)


def account_erasing(*, user: Any, **kwargs: Any) -> bool:
    return services.websites_delete_with_account(user=user)
