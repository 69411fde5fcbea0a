"""The fleet of YunoHost servers as staff run it: where a new member goes, the servers' counters,
staff's changes to the servers (the admin, /api/servers/ and `manage.py server` all call these)
and their stored credentials under a new secret key.

Placement (`server_place`), the rule docs/architecture.md states: a member is placed once, when
their YunoHost user is first queued, and stays there. Staff's choice wins (an account created
by hand on a server, an import's `--server`). Otherwise, among the `active` servers with room
(fewer accounts than `capacity_accounts` and fewer sites than `capacity_sites`): the tier's
pinned server if it is one of them; else the one where a new operation would start soonest (its
line's length times its recent command time, provisioning/line.py; a server that never ran a
command counts as quick as the others' average), then the one using the smallest share of its
account capacity, then by name. When every active server is full, the least loaded active one
takes the member over its capacity (logged); with no active server at all the account cannot be
created (503 `no_server`).

The `Server` rows are the lane's (provisioning/models.py), which reaches each server and runs its
line; the fleet is above it and the lane never imports it: the lane's sweep asks the fleet to
recount and to look for stuck lanes through provisioning/hooks.py.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
from blahaj.crypto import SecretUnreadable, decrypt, encrypt
from blahaj.errors import ApplicationError, Conflict
from provisioning import line, servers
from provisioning.models import OwnedObject, Server

from . import health

# The names these lines have always had (log filters and alerts use them): placement's, and the
# sweep's word about a stuck lane.
logger = logging.getLogger("provisioning.fleet")
sweep_logger = logging.getLogger("provisioning.tasks")


class NoServer(ApplicationError):
    status_code = 503
    code = "no_server"
    message = gettext_lazy(
        "No YunoHost server takes new accounts at the moment; try again later."
    )  # a lazy translation


# --- Placement ------------------------------------------------------------------------------------


def _has_room(server: Server) -> bool:
    return server.accounts < server.capacity_accounts and server.sites < server.capacity_sites


def _choose(candidates: list[Server], pinned_id: int | None) -> Server:
    with_room = [server for server in candidates if _has_room(server)]
    for server in with_room:
        if server.pk == pinned_id:
            return server
    if not with_room:
        logger.warning("Every active YunoHost server is full: the least loaded one takes the member.")
    pool = with_room or candidates
    # A server that never ran a command is taken to be as quick as the others are.
    measured = [server.command_seconds for server in pool if server.last_command_at is not None]
    usual = sum(measured) / len(measured) if measured else None

    def load(server: Server) -> tuple[float, float, str]:
        seconds = server.command_seconds if server.last_command_at is not None or usual is None else usual
        return (
            round(line.line_length(server) * seconds, 3),
            server.accounts / max(server.capacity_accounts, 1),
            server.name,
        )

    return min(pool, key=load)


@transaction.atomic
def server_place(*, chosen: Server | None = None, pinned_id: int | None = None) -> Server:
    """The server a new account goes to (staff's `chosen` one, else the rule above), counted
    there at once. The active servers' rows stay locked until the caller's transaction ends,
    so two sign-ups at once see each other's placement."""
    if chosen is not None:
        server = Server.objects.select_for_update().get(pk=chosen.pk)
    else:
        candidates = list(Server.objects.select_for_update().filter(state=Server.State.ACTIVE).order_by("pk"))
        if not candidates:
            if Server.objects.exists():
                raise NoServer()
            candidates = [Server.objects.select_for_update().get(pk=servers.server_first().pk)]
        server = _choose(candidates, pinned_id)
    Server.objects.filter(pk=server.pk).update(accounts=F("accounts") + 1)
    server.accounts += 1
    return server


def servers_recount() -> None:
    """Set each server's counters to what the records of the lane say it holds (live users and
    apps it made or adopted): placements count at once, removals here, every sweep."""
    counts: dict[tuple[int, str], int] = {
        (row["server"], row["kind"]): row["n"]
        for row in OwnedObject.objects.filter(state__in=OwnedObject.ALIVE, server__isnull=False)
        .values("server", "kind")
        .annotate(n=Count("id"))
    }
    with transaction.atomic():
        for server in Server.objects.select_for_update().order_by("pk"):
            accounts = counts.get((server.pk, OwnedObject.Kind.USER), 0)
            sites = counts.get((server.pk, OwnedObject.Kind.APP), 0)
            if (server.accounts, server.sites) != (accounts, sites):
                Server.objects.filter(pk=server.pk).update(accounts=accounts, sites=sites)


# --- Staff's changes ------------------------------------------------------------------------------


SECRET_FIELDS = ("api_password",)
EDITABLE = (
    "main_domain",
    "backend",
    "cli_command",
    "emulator_state",
    "lock_file",
    "api_url",
    "api_ca_bundle",
    "version",
    "public_ips",
    "capacity_accounts",
    "capacity_sites",
    "state",
)


def _invalid(fields: dict[str, list[str]]) -> ApplicationError:
    return ApplicationError(_("Invalid input."), code="invalid", fields=fields)


def _apply(server: Server, values: dict[str, Any]) -> list[str]:
    changed = []
    for name, value in values.items():
        if value is None:
            continue
        if name == "api_password":
            if ":" not in value:
                raise _invalid({"api_password": [_('Give the admin credentials as "user:password".')]})
            server.api_password = encrypt(value)
        elif name in EDITABLE:
            setattr(server, name, value.strip() if isinstance(value, str) else value)
        else:
            continue
        changed.append(name)
    return changed


@transaction.atomic
@audit.audited("server.create", target=lambda kwargs, server: f"server:{kwargs['name']}")
def server_create(*, name: str, **values: Any) -> Server:
    """A new server, with a lane of its own: queue `yunohost.<name>`, read by the unit
    `blahaj-lane@<name>` (docs/deploy.md, "Adding a second server")."""
    server = Server(name=name.strip(), queue=servers.queue_for(name.strip()))
    try:
        server.full_clean(exclude=[*EDITABLE, "api_password"], validate_unique=False)
    except Exception:  # noqa: BLE001 - the name's validator: one message for the field
        raise _invalid({"name": [_("Lower-case letters, digits and dashes (32 at most).")]}) from None
    _apply(server, values)
    servers.judge(server)
    if Server.objects.filter(name=server.name).exists():
        raise Conflict(_("A server of this name exists."), code="server_exists")
    try:
        with transaction.atomic():
            server.save()
    except IntegrityError:
        raise Conflict(_("A server of this name exists."), code="server_exists") from None
    return server


@transaction.atomic
@audit.audited(
    "server.update",
    target=lambda kwargs, _: f"server:{kwargs['server'].name}",
    detail=lambda kwargs, _: (
        "fields: " + ", ".join(sorted(k for k, v in kwargs.items() if k != "server" and v is not None))
    ),
)
def server_update(*, server: Server, **values: Any) -> Server:
    """Change what staff may change: connection, capacity, state (`draining` takes no new
    members; `down` neither, and leaves /readyz). The name and the queue never change."""
    current = Server.objects.select_for_update().get(pk=server.pk)
    changed = _apply(current, values)
    servers.judge(current)
    if changed:
        current.save(update_fields=changed)
    return current


def server_set_state(*, server: Server, state: str) -> Server:
    return server_update(server=server, state=state)


@transaction.atomic
def servers_reencrypt() -> tuple[int, list[str]]:
    """The servers' stored API credentials again under the current DJANGO_SECRET_KEY (a key
    rotation, `manage.py reencrypt_secrets`): how many were rewritten, and the names of the
    servers whose credentials no configured key opens (left as they are)."""
    rewritten, unreadable = 0, []
    for server in Server.objects.select_for_update().exclude(api_password="").order_by("name"):
        try:
            plain = decrypt(server.api_password)
        except SecretUnreadable:
            unreadable.append(server.name)
            continue
        Server.objects.filter(pk=server.pk).update(api_password=encrypt(plain))
        rewritten += 1
    return rewritten, unreadable


# --- What the lane's sweep asks of the fleet ------------------------------------------------------


def servers_after_sweep() -> None:
    """After each sweep of the operations (registered in FleetConfig.ready): each server's
    counters from the lane's records, and staff told once about a lane that stopped moving."""
    servers_recount()
    for name in health.servers_check_stuck():
        sweep_logger.warning("The lane of server %s has not moved for STAFF_LANE_STUCK_AFTER: staff were told.", name)
