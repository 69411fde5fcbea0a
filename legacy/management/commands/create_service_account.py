"""Create the sign-up front end's service account: `manage.py create_service_account NAME`.

An active account that is not staff, has no second factor, is never created on YunoHost and
cannot open the admin; its one permission, `accounts.create_user_via_legacy_routes`, lets it call
/create_user (and it may log in at /login and manage its own tokens). The password is
generated and printed once, or read from standard input with --password-stdin.
"""

from __future__ import annotations

import secrets
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

import audit
from blahaj.errors import ApplicationError
from legacy import service_accounts


class Command(BaseCommand):
    help = "Create a service account (not staff) allowed to call /create_user, and print its password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The account's username (lower case).")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from standard input instead."
        )
        parser.add_argument("--email", default="", help="A contact address (default: NAME@service.invalid).")
        parser.add_argument(
            "--convert",
            action="store_true",
            help="Turn the existing account NAME (e.g. the front end's old staff account) into a service "
            "account, keeping its password: the program's configuration does not change.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["convert"]:
            try:
                with audit.command_scope("create_service_account"):
                    user = service_accounts.service_account_convert(username=options["name"])
            except ApplicationError as error:
                raise CommandError(error.message) from None
            self.stdout.write(
                self.style.SUCCESS(
                    f"{user.username!r} is now a service account (same password): it may call /create_user."
                )
            )
            return
        generated = not options["password_stdin"]
        password = secrets.token_urlsafe(24) if generated else sys.stdin.readline().rstrip("\r\n")
        try:
            with audit.command_scope("create_service_account"):
                user = service_accounts.service_account_create(
                    username=options["name"], password=password, email=options["email"]
                )
        except ApplicationError as error:
            details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in (error.fields or {}).items())
            raise CommandError(f"{error.message}{' (' + details + ')' if details else ''}") from None
        self.stdout.write(self.style.SUCCESS(f"Service account {user.username!r} created: it may call /create_user."))
        if generated:
            self.stdout.write(f"Its password (shown once, store it now): {password}")
