"""Compare what the service holds with what a YunoHost server lists, and report the differences
(docs/deploy.md, "Restoring"): after a restore of the database, or to audit the two.

    manage.py reconcile [--server NAME] [--fix]

Reported, per kind of object:
- missing: the service's records say YunoHost has it (an account with its YunoHost user, a live
  website's domain or app instance), YunoHost does not list it;
- unknown: YunoHost lists it, the service has no record of it (made by hand, by another tool,
  or by this service after the dump that was restored).

`--fix` would queue, through the lane, what only objects this service made need. That needs the
record of which YunoHost objects the service made; without it the command refuses to change
anything (an unknown user may be someone's account made by hand) and reports only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from provisioning import inventory
from provisioning.yunohost import YunohostError
from websites.models import Website

# Websites whose domain and app instance must be on YunoHost.
ON_YUNOHOST = [Website.Status.LIVE]


@dataclass
class Differences:
    missing: dict[str, list[str]] = field(default_factory=dict)
    unknown: dict[str, list[str]] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for v in self.missing.values()) + sum(len(v) for v in self.unknown.values())


def compare(found: inventory.Inventory) -> Differences:
    users = set(User.objects.filter(on_yunohost=True).values_list("username", flat=True))
    sites = list(Website.objects.filter(status__in=ON_YUNOHOST).values_list("domain", "app_id"))
    known_domains = set(Website.objects.exclude(status=Website.Status.DELETED).values_list("domain", flat=True))
    known_apps = set(
        Website.objects.exclude(status=Website.Status.DELETED).exclude(app_id="").values_list("app_id", flat=True)
    )
    differences = Differences()
    differences.missing["users"] = sorted(users - found.users)
    differences.unknown["users"] = sorted(found.users - set(User.objects.values_list("username", flat=True)))
    differences.missing["domains"] = sorted({domain for domain, _ in sites} - found.domains)
    differences.unknown["domains"] = sorted(found.domains - known_domains - {found.main_domain})
    differences.missing["apps"] = sorted({app for _, app in sites if app} - set(found.apps))
    differences.unknown["apps"] = sorted(
        f"{app} ({where})" for app, where in found.apps.items() if app not in known_apps
    )
    return differences


class Command(BaseCommand):
    help = "Compare the service's accounts and websites with what a YunoHost server lists; report the differences."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--server",
            default=None,
            help=f"The YunoHost server's name (YUNOHOST_SERVER_NAME; default {settings.YUNOHOST_SERVER_NAME!r}).",
        )
        parser.add_argument("--fix", action="store_true", help="Queue through the lane what is missing (see below).")

    def handle(self, *args: Any, server: str | None = None, fix: bool = False, **options: Any) -> None:
        server = server or settings.YUNOHOST_SERVER_NAME
        if fix:
            raise CommandError(
                "--fix is not available yet: it needs the record of which YunoHost objects this service "
                "made, and without it nothing is changed. Run without --fix for the report."
            )
        try:
            found = inventory.server_inventory(server=server)
        except inventory.UnknownServer as error:
            raise CommandError(str(error)) from None
        except YunohostError as error:
            raise CommandError(f"YunoHost on {server!r} could not be asked: {error}") from None
        differences = compare(found)
        self.stdout.write(
            f"YunoHost server {server!r}: {len(found.users)} users, {len(found.domains)} domains, {len(found.apps)} apps."
        )
        for title, table in (
            ("Missing on YunoHost", differences.missing),
            ("Unknown to the service", differences.unknown),
        ):
            for kind, names in table.items():
                if names:
                    self.stdout.write(f"{title}, {kind} ({len(names)}): {', '.join(names)}")
        self.stdout.write("In agreement." if not differences.count() else f"{differences.count()} difference(s).")
