"""What the tiers app tells the apps above it. tiers imports none of them: they listen.

`tier_limits_changed(sender=Tier, tier, mailbox_quota_changed)` is sent inside the transaction
that changed the tier, so a receiver's rows (the quota operations) commit or roll back with the
change; a receiver defers what is not a row (dropping cached users) with `on_commit`.
"""

from __future__ import annotations

from django.dispatch import Signal

tier_limits_changed = Signal()
