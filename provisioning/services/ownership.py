"""What the lane made on YunoHost (`OwnedObject`, owned.py), and so may change or remove: the
apps record a user being made, ask whether an object is this service's, close the record of one
YunoHost no longer lists, and make the users staff import this service's own.
"""

from __future__ import annotations

from django.db.models import F

from .. import owned
from ..models import Operation, Server
from ..servers import server_by_name, server_first


def user_intend(*, username: str, domain: str, operation: Operation) -> None:
    """Record, with the `user create` just queued, that this service is making the user."""
    owned.user_intend(username, domain, operation)


def users_adopt(*, usernames: list[str], server: Server | None = None) -> int:
    """YunoHost users staff import from `server` (default: the first) become this service's own
    (the lane may then change and delete them) and count there; how many were not already."""
    server = server or server_first()
    adopted = owned.users_adopt(usernames, server.pk)
    if adopted:
        Server.objects.filter(pk=server.pk).update(accounts=F("accounts") + adopted)
    return adopted


def _server_id(name: str | None) -> int | None:
    return server_by_name(name).pk if name else None


def owned_records_close(*, kind: str, name: str, server: str | None = None) -> int:
    """The object YunoHost (the named server) no longer lists is no longer ours to find there
    (see owned.records_close)."""
    return owned.records_close(kind, name, _server_id(server))


def owned_by_service(*, kind: str, name: str, server: str | None = None) -> str | None:
    """If this service made the YunoHost object (`OwnedObject`, kind domain/app/user), the
    domain its record names (an app's, a domain's own, a user's mail domain); else None."""
    record = owned.made_here(kind, name, _server_id(server))
    return record.domain if record is not None else None
