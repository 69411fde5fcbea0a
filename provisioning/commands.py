"""What each operation kind does on YunoHost, through the client (provisioning/yunohost.py).

Every kind is idempotent, because an operation may run again after its worker died in the
middle of the command: a re-run whose effect already exists succeeds without a second effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .yunohost import YunohostAlreadyExists, YunohostNotFound, YunohostPermanent, get_client

Handler = Callable[[Any, dict[str, Any], dict[str, str]], Any]


def _user_create(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    try:
        return client.user_create(
            username=args["username"],
            fullname=args["fullname"],
            password=secrets["password"],
            domain=args["domain"],
            mailbox_quota=args["mailbox_quota"],
        )
    except YunohostAlreadyExists:
        return {"note": "The user already existed on YunoHost: nothing was changed."}


def _user_update(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    # Setting a password, a quota or a name twice has the effect of setting it once.
    return client.user_update(
        args["username"],
        fullname=args.get("fullname"),
        password=secrets.get("password"),
        mailbox_quota=args.get("mailbox_quota"),
    )


def _user_delete(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    try:
        return client.user_delete(args["username"], purge=bool(args.get("purge")))
    except YunohostNotFound:
        return {"note": "The user was not on YunoHost: nothing to delete."}


# The other kinds (domain.add, cert.install, app.*) get their handler with the websites lane,
# each with its own idempotency rule (an app install must first look for its instance).
HANDLERS: dict[str, Handler] = {
    "user.create": _user_create,
    "user.update": _user_update,
    "user.delete": _user_delete,
}


def execute(kind: str, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    handler = HANDLERS.get(kind)
    if handler is None:
        raise YunohostPermanent(f"The lane has no command for operations of kind {kind!r} yet.")
    return handler(get_client(), args, secrets)
