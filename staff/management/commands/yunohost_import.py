"""Create accounts for the YunoHost users this service does not know yet (the old back end's
"update the DB with YunoHost users"). Safe to run again: known usernames are left alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

import audit
from blahaj.errors import ApplicationError
from provisioning import services as provisioning_services
from staff import services


class Command(BaseCommand):
    help = (
        "Import YunoHost's users as active accounts (recovery email: their YunoHost mail address; "
        "no password here until they reset it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be imported; change nothing.")
        parser.add_argument(
            "--server", default=None, help="The YunoHost server to import from (default: the first server)."
        )

    def handle(self, *args: Any, dry_run: bool = False, server: str | None = None, **options: Any) -> None:
        try:
            with audit.command_scope("yunohost_import"):
                found = provisioning_services.server_by_name(server) if server else None
                summary = services.users_import_from_yunohost(dry_run=dry_run, server=found)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        for username, why in summary.skipped.items():
            self.stderr.write(f"Skipped {username}: {why}")
        verb = "would create" if dry_run else "created"
        self.stdout.write(
            f"{verb} {len(summary.created)}, already there {len(summary.already_there)}, "
            f"skipped invalid names {len(summary.skipped)}"
        )
