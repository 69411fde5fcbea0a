"""What each operation kind does on YunoHost, through the client (yunohost_client/).

Every kind is idempotent, because an operation may run again after its worker died in the
middle of the command: a re-run whose effect already exists succeeds without a second effect.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings

from yunohost_client import YunohostNotFound, YunohostPermanent, YunohostTransient

from . import certificates, owned
from .models import Operation, Server
from .servers import client_for, setting_for

Handler = Callable[[Any, dict[str, Any], dict[str, str]], Any]
OwningHandler = Callable[[Any, dict[str, Any], dict[str, str], "int | None"], Any]


class NotYet(YunohostTransient):
    """The effect cannot happen yet: try again later, on the kind's own schedule (the lane's
    `_not_yet`). ``attempted`` says whether YunoHost was asked (an attempt, on the schedule) or a
    check before it failed (no attempt spent: the next check after ``recheck_in`` seconds).
    ``detail`` is what the step is waiting for, kept in the operation's output for the pages."""

    def __init__(self, message: str, *, attempted: bool, detail: dict[str, Any], command: str = "") -> None:
        super().__init__(message, command=command)
        self.attempted = attempted
        self.detail = detail


def _cert_install(client: Any, args: dict[str, Any], secrets: dict[str, str], server: Server | None = None) -> Any:
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
        expected = None
        if server is not None:
            expected = list(setting_for(server, "YUNOHOST_PUBLIC_IPS")) or certificates.addresses(
                setting_for(server, "YUNOHOST_DOMAIN")
            )
        dns = certificates.check(domain, expected=expected)
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


def _webapp_access(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    """The site's `main` permission to a target state, `suspended` or `public`.

    suspended: `visitors` removed, then `admins` and the owner allowed; the output records which
    of those two were not allowed before, so that `public` removes only what the suspension
    added (args["suspension"], the suspending operation's id). Both YunoHost commands are
    idempotent: a re-run after a crash ends in the same state. Only the app this service made
    on the domain is touched.
    """
    app = owned.site_app(args["domain"])
    if app is None:
        return {"note": "No app of this service is installed on the domain: no access to change."}
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


def _app_config_set(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    # Setting the same password twice has the effect of setting it once.
    app = owned.our_app(args["domain"], args["app"], "app config set")
    client.webapp_set_sftp_password(app, secrets["password"])
    return {"app": app}


def _git_sync(client: Any, args: dict[str, Any], secrets: dict[str, str]) -> Any:
    """A step queued before git and ssg sites were published off the lane (publishing/): the
    deploy does the work now, so an old row (a staff retry) only checks it names our app."""
    app = owned.our_app(args["domain"], args["app"], "webapp git sync")
    return {"app": app, "note": "git and ssg sites are deployed off the lane now: nothing to do here."}


HANDLERS: dict[str, Handler] = {
    "user.update": lambda client, args, secrets: owned.user_update(client, args, secrets),
    "user.delete": lambda client, args, secrets: owned.user_delete(client, args),
    "cert.install": _cert_install,
    "app.config_set": _app_config_set,
    "webapp.git_sync": _git_sync,
    "webapp.access": _webapp_access,
}


# The steps that make a user, or make or remove a site's domain and app, record what they make
# (provisioning/owned.py): they also take the operation's id.
OWNING: dict[str, OwningHandler] = {
    "user.create": owned.user_create,
    "domain.add": lambda client, args, secrets, op: owned.domain_add(client, args, op),
    "domain.remove": lambda client, args, secrets, op: owned.domain_remove(client, args, op),
    "app.install": owned.app_install,
    "app.remove": lambda client, args, secrets, op: owned.app_remove(client, args, op),
    "webapp.reset": owned.webapp_reset,
}


def execute(
    kind: str,
    args: dict[str, Any],
    secrets: dict[str, str],
    *,
    operation_id: int | None = None,
    server: Server | None = None,
) -> Any:
    """Run the operation's command on `server` (default: the first server)."""
    if kind in OWNING:
        return OWNING[kind](client_for(server), args, secrets, operation_id)
    if kind == Operation.Kind.CERT_INSTALL:
        return _cert_install(client_for(server), args, secrets, server)
    handler = HANDLERS.get(kind)
    if handler is None:
        raise YunohostPermanent(f"The lane has no command for operations of kind {kind!r} yet.")
    return handler(client_for(server), args, secrets)
