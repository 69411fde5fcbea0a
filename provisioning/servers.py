"""The YunoHost servers, as the lane sees them: finding them and reaching them.

A `Server` row says how to reach one YunoHost (CLI or HTTP API) and how much it may hold. The
first server (`uses_settings`, made by migration 0007 from the settings, or here when the table
is empty) keeps its empty fields following the YUNOHOST_* settings, so a single-server
deployment configures nothing new; a server added later has every field of its own.

`client_for(server)` builds the YunoHost client (yunohost_client/) from a row;
`get_client()` with no server is still the first server's, from the settings; `judge(server)`
says whether a row can reach its server. Staff's changes to the servers, and where a new member
goes, are the fleet's (fleet/services.py).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from blahaj.crypto import SecretUnreadable, decrypt
from blahaj.errors import ApplicationError, NotFound
from yunohost_client import DOMAIN_RE, CliBackend, YunohostClient, YunohostError, _emulator_env, get_client

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


def server_ping(server: Server, timeout: float) -> str | None:
    """Ask the server something cheap (the CLI: `domain list`, which takes no lock; the API:
    `GET /installed`, which needs no login): None when it answered, else why not (a sentence
    without secrets). The readiness probe's question (fleet/health.py)."""
    config = ServerSettings(server)
    if config.YUNOHOST_BACKEND == "api":
        try:
            response = requests.get(
                f"{config.YUNOHOST_API_URL.rstrip('/')}/installed",
                timeout=timeout,
                verify=config.YUNOHOST_API_CA_BUNDLE or True,
            )
        except requests.RequestException as exc:
            return f"YunoHost's API did not answer ({type(exc).__name__})."
        if response.status_code != 200:
            return f"YunoHost's API answered HTTP {response.status_code}."
        return None
    client = CliBackend(shlex.split(config.YUNOHOST_BIN), timeout=timeout, lock_timeout=None, env=_emulator_env(config))
    try:
        client.run(["domain", "list"])
    except YunohostError as exc:
        return f"yunohost domain list failed ({type(exc).__name__})."
    return None


# --- Finding them ---------------------------------------------------------------------------------


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
        raise NotFound(_("There is no YunoHost server named %(name)s.") % {"name": repr(name)}, code="server_not_found")
    return server


def servers_all() -> list[Server]:
    """Every server, the first one included (unsaved, from the settings, if its row is missing)."""
    servers = list(Server.objects.order_by("name"))
    if not any(server.name == settings.YUNOHOST_SERVER_NAME for server in servers):
        servers = sorted([*servers, settings_server()], key=lambda server: server.name)
    return servers


def server_names(*, with_down: bool = True) -> list[str]:
    return [server.name for server in servers_all() if with_down or server.state != Server.State.DOWN]


def queue_for(name: str) -> str:
    """The Celery queue of a server added after the first: its lane worker's, blahaj-lane@<name>."""
    return f"{FIRST_QUEUE}.{name}"


# --- Whether a row can reach its server -----------------------------------------------------------

_IP_RE = re.compile(r"[0-9a-fA-F:.]+")


def _invalid(fields: dict[str, list[str]]) -> ApplicationError:
    return ApplicationError(_("Invalid input."), code="invalid", fields=fields)


def judge(server: Server) -> None:
    """What a server must say to be reachable: its own domain and connection, unless it is the
    first server, whose empty fields are the settings'."""
    errors: dict[str, list[str]] = {}
    if server.main_domain and not DOMAIN_RE.fullmatch(server.main_domain):
        errors["main_domain"] = [_("Not a domain name.")]
    if server.public_ips and not all(_IP_RE.fullmatch(ip.strip()) for ip in server.public_ips.split(",")):
        errors["public_ips"] = [_("Give IP addresses, comma-separated.")]
    if server.api_url and not server.api_url.startswith(("https://", "http://")):
        errors["api_url"] = [_("Give the API's URL (https://<domain>/yunohost/api).")]
    if not server.uses_settings:
        if not server.main_domain:
            errors.setdefault("main_domain", [_("A server needs its main domain.")])
        if server.backend == Server.Backend.API and not (server.api_url and server.api_password):
            errors.setdefault("api_url", [_("The API backend needs the URL and the admin credentials.")])
        if server.backend == Server.Backend.CLI and not (server.cli_command or server.emulator_state):
            errors["cli_command"] = [_("The CLI backend needs the yunohost command line.")]
        if not server.backend:
            errors["backend"] = [_("Choose cli or api.")]
    if errors:
        raise _invalid(errors)
