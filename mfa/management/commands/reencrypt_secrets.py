"""Encrypt every stored TOTP secret again under the current DJANGO_SECRET_KEY:
`manage.py reencrypt_secrets`, the middle step of a secret-key rotation (docs/deploy.md,
"Rotating the secret key"): the old key is in DJANGO_SECRET_KEY_FALLBACKS while it runs, and can
leave that list once it has. Safe to run again; a secret no configured key opens is left alone,
counted, and makes the command fail (exit status 1) after it has done the rest.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

import audit
from fleet import services as fleet
from mfa import services


class Command(BaseCommand):
    help = "Re-encrypt every stored TOTP secret under the current DJANGO_SECRET_KEY (after a key rotation)."

    def handle(self, *args: Any, **options: Any) -> None:
        with audit.command_scope("reencrypt_secrets"):
            rewritten, unreadable = services.totp_secrets_reencrypt()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rewritten} TOTP secret(s) under the current key."))
        servers, lost = fleet.servers_reencrypt()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the API credentials of {servers} YunoHost server(s)."))
        if lost:
            self.stderr.write(
                f"The API credentials of the server(s) {', '.join(lost)} open with no configured key: give them "
                "again (manage.py server, the admin or PATCH /api/servers/<name>/)."
            )
        if unreadable:
            raise CommandError(
                f"{unreadable} TOTP secret(s) could not be decrypted with DJANGO_SECRET_KEY nor any key of "
                "DJANGO_SECRET_KEY_FALLBACKS and were left as they are (the log names their user ids): put the "
                "old key back in the fallbacks and run this again, or have those members use a recovery code "
                "or staff remove their second factor."
            )
