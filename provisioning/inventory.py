"""What a YunoHost server holds, for the apps above to compare with their own records
(`manage.py reconcile`). Read-only: three listings, no lock taken, nothing changed.

The apps never hold a YunoHost client: they ask here, by server name (`health.server_names()`,
one server today).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .health import server_names
from .yunohost import get_client


class UnknownServer(ImproperlyConfigured):
    pass


@dataclass(frozen=True)
class Inventory:
    server: str
    users: frozenset[str]
    domains: frozenset[str]
    main_domain: str
    # app instance id -> "domain/path" it is installed on
    apps: dict[str, str]


def server_inventory(*, server: str) -> Inventory:
    """The users, domains and apps YunoHost lists on `server` (raises YunohostError if it cannot)."""
    if server not in server_names():
        raise UnknownServer(f"There is no YunoHost server named {server!r} (known: {', '.join(server_names())}).")
    client = get_client()
    domains = client.domain_list()
    apps = {}
    for app in client.app_list():
        apps[str(app.get("id", ""))] = str(app.get("domain_path", ""))
    return Inventory(
        server=server,
        users=frozenset(client.user_list()),
        domains=frozenset(domains.get("domains", [])),
        main_domain=str(domains.get("main", "")),
        apps=apps,
    )
