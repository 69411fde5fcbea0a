"""What the accounts app tells the apps above it. accounts imports none of them: they listen.

`user_disabled(sender=User, user)` and `user_enabled(sender=User, user)` are sent inside the
transaction of `user_disable` / `user_enable`, whichever door called them (API, admin), so a
receiver's rows commit or roll back with the change.
"""

from __future__ import annotations

from django.dispatch import Signal

user_disabled = Signal()
user_enabled = Signal()
