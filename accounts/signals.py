"""What the accounts app tells the apps above it. accounts imports none of them: they listen.

`user_disabled(sender=User, user)` and `user_enabled(sender=User, user)` are sent inside the
transaction of `user_disable` / `user_enable`, whichever door called them (API, admin), so a
receiver's rows commit or roll back with the change.

`user_erasing(sender=User, user)` is sent by the deletion finalizer, with the account's row
locked, each time it finds the account due: a receiver starts removing what the account owns
there (idempotently: it may be sent again on the next run) and returns True once nothing of it
is left, False while something is still being removed. The account is deleted only when every
receiver answered True.
"""

from __future__ import annotations

from django.dispatch import Signal

user_disabled = Signal()
user_enabled = Signal()
user_erasing = Signal()
