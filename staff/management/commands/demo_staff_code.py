"""Print the current second-factor code of the development demo staff account.

What an authenticator app would show for the account `ensure_demo_staff` makes (the admin and
the API's `login/mfa` ask for it after the password). Refuses to run without DJANGO_DEBUG, like
`ensure_demo_staff`: production staff use their own authenticator.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from mfa import devices as mfa

from .ensure_demo_staff import USERNAME


class Command(BaseCommand):
    help = "Print the demo staff account's current authenticator code (development only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_staff_code only runs with DJANGO_DEBUG=true.")
        user = User.objects.filter(username=USERNAME).first()
        device = mfa.confirmed_totp(user) if user is not None else None
        if device is None or not device.secret_readable():
            raise CommandError(
                f"No authenticator app for {USERNAME!r} yet: scripts/dev makes it (or scripts/manage ensure_demo_staff)."
            )
        now = mfa.current_code(device)
        self.stdout.write(now.code)
        if now.used:
            self.stderr.write(
                f"This code was used already: each works once. The next one comes in {now.seconds_left} s."
            )
        else:
            self.stderr.write(f"The code of the next {now.seconds_left} s; each code works once.")
