"""Create (or reset) the local demo staff account and print its credentials.

Refuses to run without DJANGO_DEBUG: a known staff account has no place in production.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User

USERNAME = "demo_staff"


class Command(BaseCommand):
    help = "Create or reset the demo staff account (development only) and print its password."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("ensure_demo_staff only runs with DJANGO_DEBUG=true.")
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        user = User.objects.filter(username=USERNAME).first()
        if user is None:
            user = User.objects.create_superuser(USERNAME, "demo_staff@example.org", display_name="Demo staff")
        user.set_password(password)
        user.status = User.Status.ACTIVE
        user.confirmed_at = user.confirmed_at or timezone.now()
        user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo staff account: username {USERNAME!r}, password {password!r} "
                f"(admin at {settings.SITE_URL}/admin/)"
            )
        )
