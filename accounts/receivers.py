"""The accounts app listening to the apps beside it (connected in AccountsConfig.ready)."""

from __future__ import annotations

from typing import Any

from . import services


def tier_changed(sender: Any, *, tier: Any, mailbox_quota_changed: bool, **kwargs: Any) -> None:
    services.tier_members_refresh(tier=tier, mailbox_quota_changed=mailbox_quota_changed)
