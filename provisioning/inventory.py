"""What a YunoHost server holds, for the apps above to compare with their own records
(`manage.py reconcile`). Read-only: three listings, no lock taken, nothing changed.

The apps never hold a YunoHost client: they ask here, by server name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from blahaj.errors import NotFound
from yunohost_client import YunohostError

from .servers import client_for, server_by_name, server_names


class UnknownServer(ImproperlyConfigured):
    pass


class ReadFailed(Exception):
    """YunoHost could not be asked (the text is YunoHost's error)."""


@dataclass(frozen=True)
class Inventory:
    server: str
    users: frozenset[str]
    domains: frozenset[str]
    main_domain: str
    # app instance id -> "domain/path" it is installed on
    apps: dict[str, str]


def server_inventory(*, server: str) -> Inventory:
    """The users, domains and apps YunoHost lists on `server` (ReadFailed if it cannot)."""
    try:
        row = server_by_name(server)
    except NotFound:
        raise UnknownServer(
            f"There is no YunoHost server named {server!r} (known: {', '.join(server_names())})."
        ) from None
    client = client_for(row)
    try:
        domains = client.domain_list()
        listed_apps = client.app_list()
        users = client.user_list()
    except YunohostError as error:
        raise ReadFailed(str(error)) from None
    apps = {str(app.get("id", "")): str(app.get("domain_path", "")) for app in listed_apps}
    return Inventory(
        server=server,
        users=frozenset(users),
        domains=frozenset(domains.get("domains", [])),
        main_domain=str(domains.get("main", "")),
        apps=apps,
    )
