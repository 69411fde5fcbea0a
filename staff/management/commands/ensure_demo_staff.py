"""Create (or reset) the local demo staff account and print its credentials.

Staff need a second factor (STAFF_REQUIRE_MFA), so the account has an authenticator app from the
start, the same across restarts: `demo_staff_code` prints its current code. Refuses to run
without DJANGO_DEBUG: a known staff account has no place in production.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

import audit
from accounts.models import User
from mfa import services as mfa_services

USERNAME = "demo_staff"


class Command(BaseCommand):
    help = "Create or reset the demo staff account (development only) and print its password."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("ensure_demo_staff only runs with DJANGO_DEBUG=true.")
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        with audit.command_scope("ensure_demo_staff"), transaction.atomic():
            user = User.objects.filter(username=USERNAME).first()
            action = "user.password.set" if user is not None else "user.create"
            if user is None:
                user = User.objects.create_superuser(USERNAME, "demo_staff@example.org", display_name="Demo staff")
            user.set_password(password)
            user.status = User.Status.ACTIVE
            user.confirmed_at = user.confirmed_at or timezone.now()
            user.save()
            audit.record(action=action, object=f"user:{USERNAME}", detail="demo staff account (development only)")
            mfa_services.totp_enrol_demo_staff(user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo staff account: username {USERNAME!r}, password {password!r} "
                f"(admin at {settings.SITE_URL}/admin/)"
            )
        )
        self.stdout.write(
            "  Its second factor is an authenticator app: `scripts/manage demo_staff_code` prints the code "
            "the admin asks for after the password."
        )
