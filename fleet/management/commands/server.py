"""The YunoHost servers from the shell (the admin and /api/servers/ do the same):

    manage.py server list
    manage.py server add NAME --domain D --backend cli --cli-command "ssh ... sudo -n /usr/bin/yunohost"
    manage.py server add NAME --domain D --backend api --api-url URL   (credentials: BLAHAJ_SERVER_API_PASSWORD)
    manage.py server drain NAME | undrain NAME

The API credentials are read from the environment, never from the command line (which `ps`
shows to everyone). Each change is an audit log row (door `command`, actor `command:server`).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

import audit
from blahaj.errors import ApplicationError
from fleet import health, services
from provisioning import servers as lane_servers
from provisioning.models import Server

PASSWORD_VARIABLE = "BLAHAJ_SERVER_API_PASSWORD"  # noqa: S105 - the name of a variable, not a value


class Command(BaseCommand):
    help = "List, add, drain and undrain the YunoHost servers."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Every server, its lane and its load.")
        add = actions.add_parser("add", help="A new server, with a lane of its own.")
        add.add_argument("name")
        add.add_argument("--domain", required=True, help="Its main domain (members' mail domain).")
        add.add_argument("--backend", choices=Server.Backend.values, required=True)
        add.add_argument("--cli-command", default="", help='e.g. "ssh blahaj@ynh2 sudo -n /usr/bin/yunohost"')
        add.add_argument("--emulator-state", default="", help="The bundled emulator's state file (development).")
        add.add_argument(
            "--api-url", default="", help=f"https://<domain>/yunohost/api (credentials: ${PASSWORD_VARIABLE})"
        )
        add.add_argument("--api-ca-bundle", default="")
        add.add_argument("--version", dest="yunohost_version", choices=["11", "12"], default="12")
        add.add_argument("--public-ips", default="", help="Comma-separated: where its sites' names must point.")
        add.add_argument("--capacity-accounts", type=int, default=5000)
        add.add_argument("--capacity-sites", type=int, default=1000)
        add.add_argument("--draining", action="store_true", help="Added, but taking no member yet.")
        for name, text in (("drain", "Place no new member there."), ("undrain", "Take new members again.")):
            actions.add_parser(name, help=text).add_argument("name")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            with audit.command_scope("server"):
                getattr(self, f"_{action}")(**options)
        except ApplicationError as error:
            details = "; ".join(f"{field}: {' '.join(problems)}" for field, problems in (error.fields or {}).items())
            raise CommandError(error.message + (f" ({details})" if details else "")) from None

    def _list(self, **options: Any) -> None:
        self.stdout.write("name  state  backend  main domain  queue  accounts/capacity  sites/capacity  waiting")
        for lane in health.fleet_health():
            server = lane.server
            self.stdout.write(
                f"{server.name}  {server.state}  {server.backend_name}  {server.domain}  {server.queue}  "
                f"{server.accounts}/{server.capacity_accounts}  {server.sites}/{server.capacity_sites}  "
                f"{lane.queue_depth}{'  STUCK' if lane.stuck else ''}"
            )

    def _add(self, *, name: str, **options: Any) -> None:
        password = os.environ.get(PASSWORD_VARIABLE, "")
        server = services.server_create(
            name=name,
            main_domain=options["domain"],
            backend=options["backend"],
            cli_command=options["cli_command"],
            emulator_state=options["emulator_state"],
            api_url=options["api_url"],
            api_password=password or None,
            api_ca_bundle=options["api_ca_bundle"],
            version=options["yunohost_version"],
            public_ips=options["public_ips"],
            capacity_accounts=options["capacity_accounts"],
            capacity_sites=options["capacity_sites"],
            state=Server.State.DRAINING if options["draining"] else Server.State.ACTIVE,
        )
        self.stdout.write(
            f"Added {server.name} ({server.state}). Start its lane: systemctl enable --now blahaj-lane@{server.name} "
            f"(queue {server.queue})."
        )

    def _set_state(self, name: str, state: str) -> None:
        server = services.server_set_state(server=lane_servers.server_by_name(name), state=state)
        self.stdout.write(f"{server.name} is {server.state}.")

    def _drain(self, *, name: str, **options: Any) -> None:
        self._set_state(name, Server.State.DRAINING)

    def _undrain(self, *, name: str, **options: Any) -> None:
        self._set_state(name, Server.State.ACTIVE)
