"""The YunoHost servers: finding them, reaching them, and staff's changes to them.

A `Server` row says how to reach one YunoHost (CLI or HTTP API) and how much it may hold. The
first server (`uses_settings`, made by migration 0007 from the settings, or here when the table
is empty) keeps its empty fields following the YUNOHOST_* settings, so a single-server
deployment configures nothing new; a server added later has every field of its own.

`client_for(server)` builds the YunoHost client (yunohost_client/) from a row;
`get_client()` with no server is still the first server's, from the settings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

import audit
from blahaj.crypto import SecretUnreadable, decrypt, encrypt
from blahaj.errors import ApplicationError, Conflict, NotFound
from yunohost_client import DOMAIN_RE, YunohostClient, get_client

from .models import Server, first_server

FIRST_QUEUE = "yunohost"
EMULATOR_BIN = str(Path(__file__).resolve().parents[1] / "yunohost_emulator" / "bin" / "yunohost")
# The settings that say which YunoHost a client reaches: a server other than the first never
# borrows them from the settings (it would silently drive the first server).
_FIELDS = {
    "YUNOHOST_BACKEND": "backend",
    "YUNOHOST_BIN": "cli_command",
    "YUNOHOST_EMULATOR_STATE": "emulator_state",
    "YUNOHOST_LOCK_FILE": "lock_file",
    "YUNOHOST_API_URL": "api_url",
    "YUNOHOST_API_CA_BUNDLE": "api_ca_bundle",
    "YUNOHOST_DOMAIN": "main_domain",
    "YUNOHOST_VERSION": "version",
}
_OWN_ONLY = {*_FIELDS, "YUNOHOST_API_PASSWORD", "YUNOHOST_PUBLIC_IPS"} - {"YUNOHOST_VERSION"}


class ServerSettings:
    """The settings `get_client` reads, as one server sees them: its own fields first; for
    the first server, the setting where its field is empty; timeouts and the rest, the settings'."""

    def __init__(self, server: Server) -> None:
        self._server = server

    def __getattr__(self, name: str) -> Any:
        server = self._server
        own: Any = None
        if name in _FIELDS:
            own = getattr(server, _FIELDS[name]) or None
        elif name == "YUNOHOST_API_PASSWORD":
            own = server_api_password(server) or None
        elif name == "YUNOHOST_PUBLIC_IPS":
            own = [ip.strip() for ip in server.public_ips.split(",") if ip.strip()] or None
        if name == "YUNOHOST_BIN" and own is None and server.emulator_state and not server.uses_settings:
            own = EMULATOR_BIN
        if own is not None:
            return own
        if name in _OWN_ONLY and not server.uses_settings:
            return [] if name == "YUNOHOST_PUBLIC_IPS" else ""
        return getattr(settings, name)


def server_api_password(server: Server) -> str:
    if not server.api_password:
        return ""
    try:
        return decrypt(server.api_password)
    except SecretUnreadable:
        return ""  # the login is refused: a permanent failure staff see on the operation


def client_for(server: Server | None, *, timeout: float | None = None) -> YunohostClient:
    """The YunoHost client of `server` (the first server's, from the settings, for None)."""
    if server is None:
        return get_client(timeout=timeout)
    return get_client(timeout=timeout, config=ServerSettings(server))


def setting_for(server: Server, name: str) -> Any:
    """One YUNOHOST_* setting as `server` sees it (ServerSettings)."""
    return getattr(ServerSettings(server), name)


# --- Finding them ------------------------------------------------------------------------------


def settings_server() -> Server:
    """The first server for reading: its row, or, before the row exists, an unsaved one made of
    the settings (nothing is written on a read: a probe, a scrape, a page)."""
    server = Server.objects.filter(name=settings.YUNOHOST_SERVER_NAME).first()
    return server or Server(name=settings.YUNOHOST_SERVER_NAME, queue=FIRST_QUEUE, uses_settings=True)


def server_first() -> Server:
    """The first server, for writing: its row, made from the settings if the table lost it."""
    return first_server()


def server_by_name(name: str) -> Server:
    """The server of this name (the first one may be unsaved: settings_server)."""
    server = Server.objects.filter(name=name).first()
    if server is None:
        if name == settings.YUNOHOST_SERVER_NAME:
            return settings_server()
        raise NotFound(f"There is no YunoHost server named {name!r}.", code="server_not_found")
    return server


def servers_all() -> list[Server]:
    """Every server, the first one included (unsaved, from the settings, if its row is missing)."""
    servers = list(Server.objects.order_by("name"))
    if not any(server.name == settings.YUNOHOST_SERVER_NAME for server in servers):
        servers = sorted([*servers, settings_server()], key=lambda server: server.name)
    return servers


def server_names(*, with_down: bool = True) -> list[str]:
    return [server.name for server in servers_all() if with_down or server.state != Server.State.DOWN]


def _queue_for(name: str) -> str:
    return f"{FIRST_QUEUE}.{name}"


# --- Staff's changes -----------------------------------------------------------------------------

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
_IP_RE = re.compile(r"[0-9a-fA-F:.]+")


def _invalid(fields: dict[str, list[str]]) -> ApplicationError:
    return ApplicationError("Invalid input.", code="invalid", fields=fields)


def judge(server: Server) -> None:
    """What a server must say to be reachable: its own domain and connection, unless it is the
    first server, whose empty fields are the settings'."""
    errors: dict[str, list[str]] = {}
    if server.main_domain and not DOMAIN_RE.fullmatch(server.main_domain):
        errors["main_domain"] = ["Not a domain name."]
    if server.public_ips and not all(_IP_RE.fullmatch(ip.strip()) for ip in server.public_ips.split(",")):
        errors["public_ips"] = ["Give IP addresses, comma-separated."]
    if server.api_url and not server.api_url.startswith(("https://", "http://")):
        errors["api_url"] = ["Give the API's URL (https://<domain>/yunohost/api)."]
    if not server.uses_settings:
        if not server.main_domain:
            errors.setdefault("main_domain", ["A server needs its main domain."])
        if server.backend == Server.Backend.API and not (server.api_url and server.api_password):
            errors.setdefault("api_url", ["The API backend needs the URL and the admin credentials."])
        if server.backend == Server.Backend.CLI and not (server.cli_command or server.emulator_state):
            errors["cli_command"] = ["The CLI backend needs the yunohost command line."]
        if not server.backend:
            errors["backend"] = ["Choose cli or api."]
    if errors:
        raise _invalid(errors)


def _apply(server: Server, values: dict[str, Any]) -> list[str]:
    changed = []
    for name, value in values.items():
        if value is None:
            continue
        if name == "api_password":
            if ":" not in value:
                raise _invalid({"api_password": ['Give the admin credentials as "user:password".']})
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
    server = Server(name=name.strip(), queue=_queue_for(name.strip()))
    try:
        server.full_clean(exclude=[*EDITABLE, "api_password"], validate_unique=False)
    except Exception:  # noqa: BLE001 - the name's validator: one message for the field
        raise _invalid({"name": ["Lower-case letters, digits and dashes (32 at most)."]}) from None
    _apply(server, values)
    judge(server)
    if Server.objects.filter(name=server.name).exists():
        raise Conflict("A server of this name exists.", code="server_exists")
    try:
        with transaction.atomic():
            server.save()
    except IntegrityError:
        raise Conflict("A server of this name exists.", code="server_exists") from None
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
    judge(current)
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
