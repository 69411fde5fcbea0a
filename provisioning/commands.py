"""What each operation kind does on YunoHost, through the client (provisioning/yunohost.py).

Every kind is idempotent, because an operation may run again after its worker died in the
middle of the command: a re-run whose effect already exists succeeds without a second effect.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings

from . import certificates, gitsync
from .models import Operation
from .yunohost import YunohostAlreadyExists, YunohostNotFound, YunohostPermanent, YunohostTransient, get_client

Handler = Callable[[Any, dict[str, Any], dict[str, str]], Any]


class NotYet(YunohostTransient):
    """The effect cannot happen yet: try again later, on the kind's own schedule (the lane's
    `_not_yet`). ``attempted`` says whether YunoHost was asked (an attempt, on the schedule) or a
    check before it failed (no attempt spent: the next check after ``recheck_in`` seconds).
    ``detail`` is what the step is waiting for, kept in the operation's output for the pages."""

    def __init__(self, message: str, *, attempted: bool, detail: dict[str, Any], command: str = "") -> None:
        super().__init__(message, command=command)
        self.attempted = attempted
        self.detail = detail


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


def _domain_add(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    try:
        return client.domain_add(args["domain"])
    except YunohostAlreadyExists:
        return {"note": "The domain already existed on YunoHost: nothing was changed."}


def _domain_remove(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    try:
        return client.domain_remove(args["domain"], remove_apps=True)
    except YunohostNotFound:
        return {"note": "The domain was not on YunoHost: nothing to remove."}


def _cert_install(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    """Let's Encrypt for the domain, once its DNS points at the server (docs/yunohost.md §10.1).

    The install may exit 0 having installed nothing (§1.8), so `cert status` confirms it. A
    certificate an admin put there themselves (`CA_type` `other`) is kept: nothing to do. A name
    that does not resolve to the server is not sent to Let's Encrypt, whose failed validations are
    limited per name and per hour: the step waits for DNS without spending an attempt.
    """
    domain = args["domain"]
    command = "domain cert install"
    try:
        current = client.cert_status(domain)
    except YunohostNotFound:
        return {"note": "The domain is no longer on YunoHost: no certificate to install."}
    if current.get("CA_type") == "letsencrypt":
        return {"certificate": "letsencrypt"}
    if current.get("CA_type") == "other":
        return {"certificate": "other", "note": "An admin installed a certificate of their own: it is kept."}
    if settings.YUNOHOST_CERT_DNS_CHECK:
        dns = certificates.check(domain)
        if not dns.ready:
            detail = {"waiting": "dns", "found": dns.found, "records": dns.records()}
            raise NotYet(dns.sentence(), attempted=False, detail=detail, command=command)
    try:
        client.cert_install(domain)
    except YunohostTransient as error:
        raise NotYet(error.message, attempted=True, detail={"waiting": "letsencrypt"}, command=command) from None
    if client.cert_status(domain).get("CA_type") != "letsencrypt":
        message = f"No Let's Encrypt certificate for {domain} yet."
        raise NotYet(message, attempted=True, detail={"waiting": "letsencrypt"}, command=command)
    return {"certificate": "letsencrypt"}


def _webapp_install(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    # A re-run after a crash finds the instance the first run installed: no second install.
    found = client.webapp_find(args["domain"], args.get("path", "/"))
    if found:
        return {"app": found}
    app = client.webapp_install(
        domain=args["domain"],
        path=args.get("path", "/"),
        with_sftp=bool(args.get("with_sftp")),
        password=secrets.get("password"),
        label=args["label"],
    )
    return {"app": app}


def _app_remove(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    # By domain, at run time: the instance id may not be known when the removal is queued.
    app = client.webapp_find(args["domain"], args.get("path", "/"))
    if app is None:
        return {"note": "No app was installed on the domain: nothing to remove."}
    try:
        client.app_remove(app)
    except YunohostNotFound:
        return {"note": "The app was not installed: nothing to remove."}
    return {"app": app}


def _app_config_set(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    # Setting the same password twice has the effect of setting it once.
    client.webapp_set_sftp_password(args["app"], secrets["password"])
    return {"app": args["app"]}


def _webapp_reset(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    """The web root back to my_webapp's initial state: remove the instance and install it again.

    YunoHost gives the freed instance number back (docs/yunohost.md §1.9), so the SFTP login,
    which is the instance id, is kept. A re-run after a crash ends in the same fresh state.
    """
    found = client.webapp_find(args["domain"], args.get("path", "/"))
    if found:
        with contextlib.suppress(YunohostNotFound):  # removed meanwhile: as good
            client.app_remove(found)
    return _webapp_install(client, args, secrets)


def _webapp_access(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    """The site's `main` permission to a target state, `suspended` or `public`.

    suspended: `visitors` removed, then `admins` and the owner allowed; the output records which
    of those two were not allowed before, so that `public` removes only what the suspension
    added (args["suspension"], the suspending operation's id). Both YunoHost commands are
    idempotent: a re-run after a crash ends in the same state.
    """
    app = client.webapp_find(args["domain"], args.get("path", "/"))
    if app is None:
        return {"note": "No app is installed on the domain: no access to change."}
    permission = f"{app}.main"
    if args["state"] == "suspended":
        before = client.permission_info(permission).get("allowed", [])
        added = [name for name in ("admins", args["owner"]) if name not in before]
        client.permission_remove(permission, ["visitors"])
        client.permission_add(permission, ["admins", args["owner"]])
        return {"app": app, "added": added}
    client.permission_add(permission, ["visitors"])
    revoke = _suspension_grants(args.get("suspension"))
    if revoke:
        client.permission_remove(permission, revoke)
    return {"app": app, "removed": revoke}


def _suspension_grants(operation_id: Any) -> list[str]:
    # What the suspension's own run added; it ran before this one (same subject, in order).
    output = Operation.objects.filter(pk=operation_id or 0).values_list("output", flat=True).first()
    try:
        data = json.loads(output or "{}")
    except ValueError:
        return []
    added = data.get("added", []) if isinstance(data, dict) else []
    return [str(name) for name in added if isinstance(name, str)]


def _git_sync(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    return gitsync.sync(app=args["app"], url=args["git_url"])


HANDLERS: dict[str, Handler] = {
    "user.create": _user_create,
    "user.update": _user_update,
    "user.delete": _user_delete,
    "domain.add": _domain_add,
    "domain.remove": _domain_remove,
    "cert.install": _cert_install,
    "app.install": _webapp_install,
    "app.remove": _app_remove,
    "app.config_set": _app_config_set,
    "webapp.reset": _webapp_reset,
    "webapp.git_sync": _git_sync,
    "webapp.access": _webapp_access,
}


def execute(kind: str, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    handler = HANDLERS.get(kind)
    if handler is None:
        raise YunohostPermanent(f"The lane has no command for operations of kind {kind!r} yet.")
    return handler(get_client(), args, secrets)
