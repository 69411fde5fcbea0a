"""The site steps on YunoHost, acting only on the domains and apps this service made itself.

Each object the lane makes gets an `OwnedObject` row before the command that makes it runs
(`intended`), confirmed once YunoHost has it (`created`) and closed once it is gone (`removed`).
That row is the proof: a domain that exists without it belongs to someone else (an admin's,
made by hand) and is refused, never adopted; an app is the one the install made, found by
comparing `app list` with what it listed before; removal, reset, the SFTP password, git
publishing and access act on the recorded app only, and a domain is removed only if we made
it and nothing else is installed on it. No step passes `--remove-apps` or `--force`.

Every step is idempotent (a worker may die between the command and its outcome): a re-run
reads YunoHost's state and the rows, and ends where the first run would have.
"""

from __future__ import annotations

import contextlib
from typing import Any

from yunohost_client import YunohostAlreadyExists, YunohostBusy, YunohostNotFound, YunohostPermanent

from .models import Operation, OwnedObject

Kind, State = OwnedObject.Kind, OwnedObject.State


class NotOurs(YunohostPermanent):
    """The step would touch a YunoHost object this service did not make: it is refused."""


def _where(domain: str, path: str) -> str:
    return domain + ("/" + path.strip().strip(" /"))


def _on_domain(app: dict[str, Any], domain: str) -> bool:
    domain_path = str(app.get("domain_path", ""))
    return domain_path == domain or domain_path.startswith(domain + "/")


def _operation(operation_id: int | None) -> Operation | None:
    return Operation.objects.filter(pk=operation_id).first() if operation_id else None


def _server_id(operation: Operation | None) -> int | None:
    """The server a record is on: its operation's."""
    return operation.server_id if operation is not None else None


# --- Records ------------------------------------------------------------------------------------


def owned_domain(domain: str) -> OwnedObject | None:
    return OwnedObject.objects.filter(kind=Kind.DOMAIN, name=domain, state__in=OwnedObject.ALIVE).first()


def owned_apps(domain: str) -> list[OwnedObject]:
    return list(OwnedObject.objects.filter(kind=Kind.APP, domain=domain, state__in=OwnedObject.ALIVE).order_by("id"))


def owned_app(domain: str, app: str) -> OwnedObject | None:
    """The record of `app` on `domain`, if this service made it and it is not removed."""
    if not app:
        return None
    return OwnedObject.objects.filter(kind=Kind.APP, domain=domain, name=app, state=State.CREATED).first()


def _set(record: OwnedObject, state: str, **fields: Any) -> None:
    for name, value in {"state": state, **fields}.items():
        setattr(record, name, value)
    record.save(update_fields=["state", "updated_at", *fields])


def _settled(client: Any, domain: str) -> None:
    """Before reading `app list` for an install of ours whose outcome is unknown: wait until
    YunoHost's lock is free. Until then the instance it lists may be half made (YunoHost saves
    its settings before the install script runs, and rolls a failed install back)."""
    unsettled = OwnedObject.objects.filter(kind=Kind.APP, domain=domain, state=State.INTENDED).exists()
    if unsettled and client.lock_free() is False:
        raise YunohostBusy(
            "YunoHost is still running a command (maybe our install): its outcome is read once it ends.",
            command="app install",
        )


def _made_since(record: OwnedObject, apps: list[dict[str, Any]]) -> list[str]:
    """The apps at the record's domain and path that were not there before its install."""
    where = _where(record.domain, record.path)
    before = set(record.apps_before)
    return [str(app["id"]) for app in apps if app.get("domain_path") == where and str(app["id"]) not in before]


# --- Domains ------------------------------------------------------------------------------------


def domain_add(client: Any, args: dict[str, Any], operation_id: int | None) -> Any:
    """Add the site's domain; one that exists already is ours only if our record says so."""
    domain = args["domain"]
    record = owned_domain(domain)
    if domain in client.domain_list().get("domains", []):
        if record is None:
            raise _foreign_domain(domain)
        _set(record, State.CREATED)
        return {"note": "The domain was made by an earlier attempt of this service: nothing was changed."}
    earlier = record is not None  # an attempt of ours whose outcome was unknown may still end
    if record is None:
        operation = _operation(operation_id)
        record = OwnedObject.objects.create(
            kind=Kind.DOMAIN, name=domain, domain=domain, operation=operation, server_id=_server_id(operation)
        )
    try:
        client.domain_add(domain)
    except YunohostAlreadyExists:
        if earlier:
            _set(record, State.CREATED)
            return {"note": "The domain was made by an earlier attempt of this service: nothing was changed."}
        # Someone else added it between our look and our command: not ours, left alone.
        _set(record, State.REMOVED)
        raise _foreign_domain(domain) from None
    _set(record, State.CREATED)
    return None


def _foreign_domain(domain: str) -> NotOurs:
    return NotOurs(
        f"The domain {domain} already exists on YunoHost and was not made by this service: "
        "it is left alone. Ask the member for another name, or remove it on YunoHost if it is unused.",
        command="domain add",
    )


def domain_remove(client: Any, args: dict[str, Any], operation_id: int | None) -> Any:
    """Remove the site's domain if we made it and nothing else is installed on it."""
    domain = args["domain"]
    record = owned_domain(domain)
    if domain not in client.domain_list().get("domains", []):
        if record is not None:
            _set(record, State.REMOVED)
        return {"note": "The domain was not on YunoHost: nothing to remove."}
    if record is None:
        return {"note": "The domain was not made by this service: it is left in place."}
    others = [str(app["id"]) for app in client.app_list() if _on_domain(app, domain)]
    if others:
        return {
            "note": "The domain is left in place: apps this service did not make are installed on it.",
            "apps": others,
        }
    with contextlib.suppress(YunohostNotFound):  # gone meanwhile: as good
        client.domain_remove(domain, remove_apps=False)
    _set(record, State.REMOVED)
    return None


# --- Apps ---------------------------------------------------------------------------------------


def app_install(client: Any, args: dict[str, Any], secrets: dict[str, str], operation_id: int | None) -> Any:
    """Install the site's my_webapp, or find the one an earlier attempt of ours installed.

    An app at the domain that no record of ours names is someone else's: the step fails and
    leaves it alone (it never adopts it).
    """
    domain, path = args["domain"], args.get("path", "/")
    _settled(client, domain)
    apps = client.app_list()
    for record in owned_apps(domain):
        found = _resolve(record, apps)
        if found:
            return {"app": found}
    ours = {record.name for record in owned_apps(domain)}
    foreign = [str(app["id"]) for app in apps if _on_domain(app, domain) and str(app["id"]) not in ours]
    if foreign:
        raise NotOurs(
            f"An app this service did not make ({', '.join(foreign)}) is installed on {domain}: "
            "it is left alone and no site is installed there.",
            command="app install",
        )
    before = [str(app["id"]) for app in apps]
    pending = OwnedObject.objects.filter(kind=Kind.APP, domain=domain, state=State.INTENDED, name="").first()
    operation = _operation(operation_id)
    if pending is None:
        record = OwnedObject.objects.create(
            kind=Kind.APP,
            domain=domain,
            path=path,
            apps_before=before,
            operation=operation,
            server_id=_server_id(operation),
        )
    else:
        record = pending
        _set(record, State.INTENDED, apps_before=before, operation=operation, server_id=_server_id(operation))
    app = client.webapp_install(
        domain=domain,
        path=path,
        with_sftp=bool(args.get("with_sftp")),
        password=secrets.get("password"),
        label=args["label"],
    )
    _set(record, State.CREATED, name=app)
    return {"app": app}


def _resolve(record: OwnedObject, apps: list[dict[str, Any]]) -> str | None:
    """The id of the record's app if it is installed, the record brought up to date; None
    (and the record closed) if its install left nothing."""
    ids = {str(app["id"]) for app in apps}
    if record.name:
        if record.name in ids:
            if record.state != State.CREATED:
                _set(record, State.CREATED)
            return record.name
        _set(record, State.REMOVED)
        return None
    made = _made_since(record, apps)
    if len(made) == 1:
        _set(record, State.CREATED, name=made[0])
        return made[0]
    if not made:
        return None  # its install did not happen (or was rolled back): the record stays intended
    raise YunohostPermanent(
        f"More than one new app at {record.domain} ({', '.join(made)}): which one this service made is unclear.",
        command="app install",
    )


def app_remove(client: Any, args: dict[str, Any], operation_id: int | None) -> Any:
    """Remove the apps our records name on the domain (by domain: the removal may be queued
    before the install that makes the app has run); nothing else."""
    domain = args["domain"]
    _settled(client, domain)
    apps = client.app_list()
    removed = []
    for record in owned_apps(domain):
        app = _resolve(record, apps)
        if app is None:
            if record.state == State.INTENDED:
                _set(record, State.REMOVED)
            continue
        with contextlib.suppress(YunohostNotFound):
            client.app_remove(app)
        _set(record, State.REMOVED)
        removed.append(app)
    if not removed:
        return {"note": "No app of this service was installed on the domain: nothing to remove."}
    return {"app": removed[0]} if len(removed) == 1 else {"apps": removed}


def webapp_reset(client: Any, args: dict[str, Any], secrets: dict[str, str], operation_id: int | None) -> Any:
    """Our app removed and installed again (same instance id: YunoHost gives a freed number
    back). A re-run finds what the first run got to."""
    domain = args["domain"]
    _settled(client, domain)
    apps = client.app_list()
    # Not the app this reset installed itself, on a re-run after its install.
    current = [r for r in owned_apps(domain) if r.state == State.CREATED and r.operation_id != operation_id]
    for record in current:
        app = _resolve(record, apps)
        if app is not None:
            with contextlib.suppress(YunohostNotFound):
                client.app_remove(app)
            _set(record, State.REMOVED)
    return app_install(client, args, secrets, operation_id)


def our_app(domain: str, app: str, command: str) -> str:
    """`app` if this service made it on `domain`, else NotOurs."""
    if owned_app(domain, app) is None:
        raise NotOurs(
            f"The app {app or '(none)'} on {domain} was not made by this service: it is left alone.",
            command=command,
        )
    return app


def site_app(domain: str) -> str | None:
    """The app this service made on the domain, if any."""
    record = OwnedObject.objects.filter(kind=Kind.APP, domain=domain, state=State.CREATED).exclude(name="").first()
    return record.name if record else None


# --- Users --------------------------------------------------------------------------------------


def owned_user(username: str) -> OwnedObject | None:
    return OwnedObject.objects.filter(kind=Kind.USER, name=username, state__in=OwnedObject.ALIVE).first()


def user_intend(username: str, domain: str, operation: Operation) -> None:
    """The record of a `user create` queued with `operation`, written in the same transaction: a
    database restored from a dump that holds the operation holds its record too, so the restored
    lane knows a user the old one made after the dump for its own. A live record is kept."""
    if owned_user(username) is None:
        OwnedObject.objects.create(
            kind=Kind.USER, name=username, domain=domain, operation=operation, server_id=operation.server_id
        )


def user_create(client: Any, args: dict[str, Any], secrets: dict[str, str], operation_id: int | None) -> Any:
    """Create the member's YunoHost user; one that exists already is ours only if our record says
    an earlier attempt of ours made it (a YunoHost user made by hand is an admin's: refused, never
    taken over, since the account would then change its password and delete it)."""
    username = args["username"]
    record = owned_user(username)
    earlier = record is not None
    if record is None:
        operation = _operation(operation_id)
        record = OwnedObject.objects.create(
            kind=Kind.USER,
            name=username,
            domain=args.get("domain", ""),
            operation=operation,
            server_id=_server_id(operation),
        )
    try:
        made = client.user_create(
            username=username,
            fullname=args["fullname"],
            password=secrets["password"],
            domain=args["domain"],
            mailbox_quota=args["mailbox_quota"],
        )
    except YunohostAlreadyExists:
        if earlier and _as_asked(client, args):
            _set(record, State.CREATED)
            return {
                "note": "The user already existed on YunoHost, made by an earlier attempt of this service: nothing was changed."
            }
        _set(record, State.REMOVED)
        raise NotOurs(
            f"The user {username} already exists on YunoHost and was not made by this service: it is "
            "left alone. The account needs another username (or staff import that YunoHost user).",
            command="user create",
        ) from None
    _set(record, State.CREATED)
    return made


def _as_asked(client: Any, args: dict[str, Any]) -> bool:
    """Whether the existing user is the one our `user create` asks for (its full name and its
    address): an attempt of ours that ended unseen (a worker that died, a database restored from
    a dump taken before the command ran) made exactly that; a user made by hand under the name
    while ours waited is someone else's."""
    info = client.user_info(args["username"]) or {}
    return info.get("fullname") == args["fullname"] and info.get("mail") == f"{args['username']}@{args['domain']}"


def user_update(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    """Change a user this service made (or staff imported); any other is refused."""
    username = args["username"]
    if owned_user(username) is None:
        raise NotOurs(
            f"The user {username} on YunoHost was not made by this service: it is left unchanged.",
            command="user update",
        )
    # Setting a password, a quota or a name twice has the effect of setting it once.
    return client.user_update(
        username,
        fullname=args.get("fullname"),
        password=secrets.get("password"),
        mailbox_quota=args.get("mailbox_quota"),
    )


def user_delete(client: Any, args: dict[str, Any]) -> Any:
    """Delete a user this service made (or staff imported); any other is left alone."""
    username = args["username"]
    record = owned_user(username)
    if record is None:
        return {"note": "No YunoHost user of this service has this name: nothing was deleted."}
    try:
        client.user_delete(username, purge=bool(args.get("purge")))
    except YunohostNotFound:
        _set(record, State.REMOVED)
        return {"note": "The user was not on YunoHost: nothing to delete."}
    _set(record, State.REMOVED)
    return None


def users_adopt(usernames: list[str], server_id: int | None = None) -> int:
    """Record YunoHost users staff import as this service's own (`manage.py yunohost_import`):
    from then on the service may change and delete them. How many were new."""
    known = set(
        OwnedObject.objects.filter(kind=Kind.USER, name__in=usernames, state__in=OwnedObject.ALIVE).values_list(
            "name", flat=True
        )
    )
    new = [
        OwnedObject(kind=Kind.USER, name=name, domain="", state=State.CREATED, server_id=server_id)
        for name in usernames
        if name not in known
    ]
    OwnedObject.objects.bulk_create(new)
    return len(new)


# --- Reconciling (`manage.py reconcile --fix`) ----------------------------------------------------


def _on(server_id: int | None) -> dict[str, int]:
    # App instance ids are a server's own ("my_webapp" is the first on every server).
    return {"server_id": server_id} if server_id is not None else {}


def records_close(kind: str, name: str, server_id: int | None = None) -> int:
    """Close the live records of an object YunoHost (the server's, if given) no longer lists (a
    restore, a hand removal): the lane's next step then makes it afresh under a new record, and
    one that someone else made under that name meanwhile is refused, never taken for the lost one."""
    alive = OwnedObject.objects.filter(kind=kind, name=name, state__in=OwnedObject.ALIVE, **_on(server_id))
    return alive.update(state=State.REMOVED)


def made_here(kind: str, name: str, server_id: int | None = None) -> OwnedObject | None:
    """The record saying this service made the object (on the server, if given) and has not
    removed it, if any."""
    return OwnedObject.objects.filter(kind=kind, name=name, state=State.CREATED, **_on(server_id)).first()
