"""Compare what the service holds with what a YunoHost server lists, report the differences,
and with `--fix` queue through the lane what brings YunoHost back in line (docs/deploy.md,
"Restoring"): after a restore of the database, or to audit the two.

    manage.py reconcile [--server NAME] [--fix [--remove-orphans]]

Reported, per kind of object (users, domains, apps):
- missing: the service's records say YunoHost has it (an account with its YunoHost user, a live
  website's domain or app instance), YunoHost does not list it;
- orphans made by this service: YunoHost lists it, no account or website row has it, and the
  record of the objects this service made (`OwnedObject`) says it made it (e.g. an older dump
  was restored after the account or site was deleted);
- unknown, not ours: YunoHost lists it and nothing here says this service made it (made by hand
  or by another tool). Never touched.

`--fix` queues operations on the lane (it never calls YunoHost itself), and each fix is audited:
- an active or disabled account whose YunoHost user is missing: its `user create` again, with a
  random password; an active member is mailed a password reset link to choose theirs;
- a live site whose domain or app is missing: its provisioning plan again from the missing
  step (domain.add, else app.install); the site is `provisioning` until the lane brings it back
  live. The lane refuses an object of that name it did not make: it never adopts one;
- with `--remove-orphans` too: the orphans are removed (user.delete; app.remove, then
  domain.remove, which leaves the domain in place if an app not ours is on it).
A second run queues nothing while the first one's operations are waiting or once they are done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

import audit
from accounts import emails
from accounts import yunohost as account_lane
from accounts.models import User
from blahaj.errors import ApplicationError
from provisioning import inventory
from provisioning import services as lane
from provisioning.models import Operation
from websites import services as websites
from websites.models import Website

# Websites whose domain and app instance must be on YunoHost.
ON_YUNOHOST = [Website.Status.LIVE]
# Accounts whose YunoHost user --fix makes again.
REMADE = (User.Status.ACTIVE, User.Status.DISABLED)
KINDS = {"users": "user", "domains": "domain", "apps": "app"}
Kind = Operation.Kind


@dataclass
class Differences:
    missing: dict[str, list[str]] = field(default_factory=dict)
    orphans: dict[str, list[str]] = field(default_factory=dict)
    unknown: dict[str, list[str]] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(names) for table in (self.missing, self.orphans, self.unknown) for names in table.values())

    def split(self, kind: str, names: set[str], server: str) -> None:
        """Names the server lists and no row here has: ours (a record says so) or not."""
        ours = {name for name in names if lane.owned_by_service(kind=KINDS[kind], name=name, server=server)}
        self.orphans[kind] = sorted(ours)
        self.unknown[kind] = sorted(names - ours)


def _on_server(found: inventory.Inventory, prefix: str = "") -> Q:
    """The accounts on the server inventoried (those never placed count as the first server's)."""
    placed = Q(**{f"{prefix}server__name": found.server})
    if found.server == lane.server_first().name:
        placed |= Q(**{f"{prefix}server__isnull": True})
    return placed


def compare(found: inventory.Inventory) -> Differences:
    users = set(User.objects.filter(_on_server(found), on_yunohost=True).values_list("username", flat=True))
    sites = list(
        Website.objects.filter(_on_server(found, "owner__"), status__in=ON_YUNOHOST).values_list("domain", "app_id")
    )
    kept = Website.objects.exclude(status=Website.Status.DELETED)
    known_domains = set(kept.values_list("domain", flat=True))
    known_apps = set(kept.exclude(app_id="").values_list("app_id", flat=True))
    differences = Differences()
    differences.missing["users"] = sorted(users - found.users)
    differences.split("users", set(found.users - set(User.objects.values_list("username", flat=True))), found.server)
    differences.missing["domains"] = sorted({domain for domain, _ in sites} - found.domains)
    differences.split("domains", set(found.domains - known_domains - {found.main_domain}), found.server)
    differences.missing["apps"] = sorted({app for _, app in sites if app} - set(found.apps))
    differences.split("apps", {app for app in found.apps if app not in known_apps}, found.server)
    return differences


class Fixer:
    """Queues the fixes, one transaction and one audit row each; `lines` says what it did."""

    def __init__(self, found: inventory.Inventory, differences: Differences) -> None:
        self.found, self.differences = found, differences
        self.lines: list[str] = []

    def users(self) -> None:
        for username in self.differences.missing["users"]:
            user = User.objects.get(username=username)
            subject = account_lane.user_subject(username)
            if user.status not in REMADE:
                self.lines.append(f"Left {username}: the account is {user.status}, not active or disabled.")
            elif not self._user(user, subject):
                self.lines.append(f"Already queued: the YunoHost user {username}.")
            else:
                mailed = " (mailed a password reset link)" if user.status == User.Status.ACTIVE else ""
                self.lines.append(f"Queued: user.create {username}{mailed}.")

    @transaction.atomic
    def _user(self, user: User, subject: str) -> bool:
        User.objects.select_for_update().filter(pk=user.pk).first()  # one run at a time per account
        if lane.operation_unfinished(subject=subject, kinds=[Kind.USER_CREATE]):
            return False
        # YunoHost lost it: the lane makes it afresh under a new record of ours.
        lane.owned_records_close(kind="user", name=user.username, server=self.found.server)
        user.pending_password = ""  # a random password; the member chooses theirs by the link
        account_lane.account_create(user=user)
        if user.status == User.Status.ACTIVE:
            emails.send_password_reset(user=user)
        audit.record(action="user.put_back", object=f"user:{user.username}", detail="user create queued")
        return True

    def websites(self) -> None:
        missing_domains = set(self.differences.missing["domains"])
        missing_apps = set(self.differences.missing["apps"])
        for website in Website.objects.filter(status__in=ON_YUNOHOST).select_related("owner").order_by("domain"):
            domain_missing = website.domain in missing_domains
            if not domain_missing and website.app_id not in missing_apps:
                continue
            try:
                operation = websites.website_put_back(website=website, domain_missing=domain_missing)
            except ApplicationError as error:
                self.lines.append(f"Left {website.domain}: {error.message}")
                continue
            self.lines.append(f"Queued: {operation.kind} {website.domain} (the site is provisioning again).")

    def orphans(self) -> None:
        for username in self.differences.orphans["users"]:
            subject = account_lane.user_subject(username)
            if lane.operation_unfinished(subject=subject, kinds=[Kind.USER_DELETE]):
                self.lines.append(f"Already queued: user.delete {username}.")
                continue
            with transaction.atomic():
                lane.operation_create(
                    kind=Kind.USER_DELETE,
                    subject=subject,
                    args={"username": username, "purge": True},
                    server=lane.server_by_name(self.found.server),
                )
                audit.record(action="yunohost.orphan.remove", object=f"user:{username}", detail="user delete queued")
            self.lines.append(f"Queued: user.delete {username}.")
        kept = set(Website.objects.exclude(status=Website.Status.DELETED).values_list("domain", flat=True))
        domains = set(self.differences.orphans["domains"])
        with_apps: set[str] = set()
        for app in self.differences.orphans["apps"]:
            domain = lane.owned_by_service(kind="app", name=app, server=self.found.server) or ""
            if domain in kept:
                self.lines.append(f"Left the app {app}: its domain {domain} is a website's here (see staff).")
            else:
                with_apps.add(domain)
        for domain in sorted(domains | with_apps):
            self._site_objects(domain, app=domain in with_apps, domain_too=domain in domains)

    def _site_objects(self, domain: str, *, app: bool, domain_too: bool) -> None:
        subject = f"site:{domain}"
        if lane.operation_unfinished(subject=subject, kinds=[Kind.APP_REMOVE, Kind.DOMAIN_REMOVE]):
            self.lines.append(f"Already queued: the removal of {domain}'s orphans.")
            return
        kinds = [kind for kind, wanted in ((Kind.APP_REMOVE, app), (Kind.DOMAIN_REMOVE, domain_too)) if wanted]
        with transaction.atomic():
            for kind in kinds:
                lane.operation_create(
                    kind=kind,
                    subject=subject,
                    args={"domain": domain, "path": "/"},
                    server=lane.server_by_name(self.found.server),
                )
            audit.record(
                action="yunohost.orphan.remove", object=f"domain:{domain}", detail=" then ".join(kinds) + " queued"
            )
        self.lines.append(f"Queued: {' then '.join(kinds)} {domain}.")


class Command(BaseCommand):
    help = (
        "Compare the service's accounts and websites with what a YunoHost server lists; report the "
        "differences, and with --fix queue through the lane what brings YunoHost back in line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--server",
            default=None,
            help=f"The YunoHost server's name (YUNOHOST_SERVER_NAME; default {settings.YUNOHOST_SERVER_NAME!r}).",
        )
        parser.add_argument(
            "--fix",
            action="store_true",
            help="Queue through the lane the users, domains and apps that are missing on YunoHost.",
        )
        parser.add_argument(
            "--remove-orphans",
            action="store_true",
            help="With --fix: also remove what this service made and no account or site here has any more.",
        )

    def handle(
        self, *args: Any, server: str | None = None, fix: bool = False, remove_orphans: bool = False, **options: Any
    ) -> None:
        server = server or settings.YUNOHOST_SERVER_NAME
        if remove_orphans and not fix:
            raise CommandError("--remove-orphans goes with --fix.")
        try:
            found = inventory.server_inventory(server=server)
        except inventory.UnknownServer as error:
            raise CommandError(str(error)) from None
        except inventory.ReadFailed as error:
            raise CommandError(f"YunoHost on {server!r} could not be asked: {error}") from None
        differences = compare(found)
        self.stdout.write(
            f"YunoHost server {server!r}: {len(found.users)} users, {len(found.domains)} domains, {len(found.apps)} apps."
        )
        for title, table in (
            ("Missing on YunoHost", differences.missing),
            ("Orphans made by this service", differences.orphans),
            ("Unknown, not ours", differences.unknown),
        ):
            for kind, names in table.items():
                if names:
                    where = [f"{name} ({found.apps[name]})" if name in found.apps else name for name in names]
                    self.stdout.write(f"{title}, {kind} ({len(names)}): {', '.join(where)}")
        self.stdout.write("In agreement." if not differences.count() else f"{differences.count()} difference(s).")
        if not fix:
            return
        fixer = Fixer(found, differences)
        with audit.command_scope("reconcile"):
            fixer.users()
            fixer.websites()
            if remove_orphans:
                fixer.orphans()
        for line in fixer.lines:
            self.stdout.write(line)
        if not remove_orphans and any(differences.orphans.values()):
            self.stdout.write("The orphans are left in place: --remove-orphans removes them.")
        queued = sum(line.startswith("Queued:") for line in fixer.lines)
        self.stdout.write(f"Queued {queued} fix(es)." if queued else "Nothing to queue.")
