"""A website's steps on the YunoHost lane, and what each step's outcome means to the site.

One operation per step, all of subject `site:<domain>` so they run in order; each step is
queued when the one before it succeeded (in the lane's finishing transaction), so a failed step
stops the plan there and a staff retry of that operation continues from it:

    provision: domain.add -> app.install -> live, then cert.install in the background
    delete:    app.remove -> domain.remove -> deleted
    reset:     webapp.reset             sftp password: app.config_set
    suspend:   webapp.access (suspended)   unsuspend: webapp.access (public)

The certificate has a subject of its own (`cert:<domain>`): its retries with backoff must not
hold back the site's other steps, and its failure never fails the site.

The callbacks run inside the lane's transaction (provisioning/outcomes.py): no I/O here, the
emails and notifications are queued for after the commit.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

import notifications
from blahaj.crypto import encrypt
from blahaj.errors import Conflict
from deletion import services as deletion
from provisioning import outcomes
from provisioning import services as lane
from provisioning.models import Operation

from . import content, emails, rules
from .models import Website

Kind = Operation.Kind
Status = Website.Status
PROVISION_KINDS = (Kind.DOMAIN_ADD, Kind.APP_INSTALL)
DELETE_KINDS = (Kind.APP_REMOVE, Kind.DOMAIN_REMOVE)
SITE_KINDS = (
    *PROVISION_KINDS,
    *DELETE_KINDS,
    Kind.WEBAPP_RESET,
    Kind.APP_CONFIG_SET,
    Kind.CERT_INSTALL,
    Kind.WEBAPP_ACCESS,
)
SUSPENDED, PUBLIC = "suspended", "public"


def cert_subject(domain: str) -> str:
    return f"cert:{domain}"


def _args(website: Website, **extra: Any) -> dict[str, Any]:
    return {"website_id": website.pk, "domain": website.domain, **extra}


def _install_args(website: Website) -> dict[str, Any]:
    return _args(
        website,
        path="/",
        # A git or ssg site's content is published through its SFTP login too.
        with_sftp=True,
        label=f"Website of {website.owner.username}"[:60],
    )


def _new_password(website: Website) -> dict[str, str]:
    """A fresh SFTP password for an install, kept encrypted: on the row for its one email (an
    SFTP site), or for the deploys that publish through it (a git or ssg site)."""
    password = rules.sftp_password()
    if website.kind == Website.Kind.SFTP:
        website.pending_password = encrypt(password)
    else:
        content.publisher().keep_sftp_password(website=website, password=password)
    return {"password": password}


def _queue(website: Website, kind: str, args: dict[str, Any], secrets: dict[str, str] | None = None) -> Operation:
    return lane.operation_create(kind=kind, subject=website.subject, args=args, secrets=secrets, user=website.owner)


# --- Plans (called by the services, inside their transaction) ---------------------------------


def website_provision(*, website: Website) -> Operation:
    """The first step; the next ones follow from the outcomes below."""
    return _queue(website, Kind.DOMAIN_ADD, _args(website))


def website_put_back(*, website: Website, domain_missing: bool) -> Operation:
    """A live site whose domain or app YunoHost no longer lists (`manage.py reconcile --fix`):
    its provisioning plan again from the missing step, the site `provisioning` meanwhile."""
    if domain_missing:
        return website_provision(website=website)
    secrets = _new_password(website)
    website.save(update_fields=["pending_password"])
    return _queue(website, Kind.APP_INSTALL, _install_args(website), secrets)


def website_remove(*, website: Website) -> Operation:
    # The app is found by its domain when the step runs: a removal queued while the install
    # is still pending removes what that install made.
    return _queue(website, Kind.APP_REMOVE, _args(website, path="/"))


def website_reset(*, website: Website) -> Operation:
    secrets = _new_password(website)
    website.save(update_fields=["pending_password"])
    return _queue(website, Kind.WEBAPP_RESET, _install_args(website), secrets)


def website_set_sftp_password(*, website: Website) -> Operation:
    secrets = _new_password(website)
    website.save(update_fields=["pending_password"])
    return _queue(website, Kind.APP_CONFIG_SET, _args(website, app=website.app_id), secrets)


def website_access(*, website: Website, state: str, suspension: int | None = None) -> Operation:
    """The site's `main` permission to `suspended` (owner and admins only) or back to `public`;
    `suspension` is the suspending step, whose record says what the suspension added."""
    args = _args(website, path="/", state=state, owner=website.owner.username)
    if suspension is not None:
        args["suspension"] = suspension
    return _queue(website, Kind.WEBAPP_ACCESS, args)


def last_suspension(*, website: Website) -> Operation | None:
    return (
        Operation.objects.filter(
            subject=website.subject, kind=Kind.WEBAPP_ACCESS, args__website_id=website.pk, args__state=SUSPENDED
        )
        .order_by("-sequence")
        .first()
    )


# --- Outcomes (registered in WebsitesConfig.ready) --------------------------------------------


def _site(operation: Operation) -> Website | None:
    website_id = (operation.args or {}).get("website_id")
    if website_id is None:
        return None  # an operation of this kind queued by someone else (staff by hand)
    return Website.objects.select_for_update().select_related("owner").filter(pk=website_id).first()


def _output(operation: Operation) -> dict[str, Any]:
    try:
        data = json.loads(operation.output or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _save(website: Website, *fields: str) -> None:
    website.save(update_fields=[*fields, "updated_at"])


def domain_added(*, operation: Operation) -> None:
    website = _site(operation)
    if website is None or website.status != Status.PROVISIONING:
        return  # deleted meanwhile: its removal steps follow
    secrets = _new_password(website)
    _save(website, "pending_password")
    _queue(website, Kind.APP_INSTALL, _install_args(website), secrets)


def app_installed(*, operation: Operation) -> None:
    website = _site(operation)
    if website is None:
        return
    website.app_id = str(_output(operation).get("app", ""))
    website.sftp_username = website.app_id if website.kind == Website.Kind.SFTP else ""
    if website.status != Status.PROVISIONING:
        _save(website, "app_id", "sftp_username")
        return
    website.status, website.live_at = Status.LIVE, timezone.now()
    website.failed_step = website.error = ""
    website.certificate = Website.Certificate.PENDING
    _save(website, "app_id", "sftp_username", "status", "live_at", "failed_step", "error", "certificate")
    lane.operation_create(
        kind=Kind.CERT_INSTALL, subject=cert_subject(website.domain), args=_args(website), user=website.owner
    )
    if website.kind != Website.Kind.SFTP:
        content.publisher().deploy(website=website, reason="install")
    if website.is_suspended:  # suspended before its app existed: the new app starts public
        website_access(website=website, state=SUSPENDED)
    emails.send_live(website=website)
    if website.pending_password:
        emails.send_sftp_password(website=website)
    username = website.owner.username
    notifications.website_live(username=username, domain=website.domain)


def step_failed(*, operation: Operation) -> None:
    """A step failed for good: the site is `failed` at that step, its owner and staff are told."""
    website = _site(operation)
    if website is None:
        return
    website.pending_password = ""
    if website.status in (Status.DELETED,):
        _save(website, "pending_password")
        return
    if operation.kind == Kind.APP_CONFIG_SET:
        _save(website, "pending_password")  # the site itself is fine: the old password stands
        _notify_failure(website, operation)
        return
    website.status, website.failed_step, website.error = Status.FAILED, operation.kind, operation.error
    _save(website, "status", "failed_step", "error", "pending_password")
    emails.send_failed(website=website)
    _notify_failure(website, operation)


def _notify_failure(website: Website, operation: Operation) -> None:
    notifications.website_failed(
        username=website.owner.username,
        domain=website.domain,
        step=operation.kind,
        operation_id=operation.pk,
        error=operation.error,
    )


def step_retried(*, operation: Operation) -> None:
    """Staff retry a failed step: the site goes back to the state that step belongs to."""
    website = _site(operation)
    if website is None:
        return
    if website.status == Status.DELETED:
        # Running it would put back on YunoHost what the deletion removed; the retry is undone.
        raise Conflict(_("This website was deleted: its steps cannot be retried."), code="website_deleted")
    if operation.kind in (Kind.APP_INSTALL, Kind.WEBAPP_RESET, Kind.APP_CONFIG_SET):
        # Its password was wiped when it failed: a new one, mailed once the step succeeds.
        secrets = _new_password(website)
        if secrets:
            Operation.objects.filter(pk=operation.pk).update(secret_args=encrypt(json.dumps(secrets)))
    if website.status == Status.FAILED:
        website.status = Status.DELETING if operation.kind in DELETE_KINDS else Status.PROVISIONING
        website.failed_step = website.error = ""
    _save(website, "status", "failed_step", "error", "pending_password")


def app_removed(*, operation: Operation) -> None:
    website = _site(operation)
    if website is not None and website.status == Status.DELETING:
        _queue(website, Kind.DOMAIN_REMOVE, _args(website))


def domain_removed(*, operation: Operation) -> None:
    website = _site(operation)
    if website is None or website.status != Status.DELETING:
        return
    website.status, website.deleted_at = Status.DELETED, timezone.now()
    _save(website, "status", "deleted_at")
    emails.send_deleted(website=website)
    # The owner's account may be waiting for this removal to be deleted itself.
    deletion.deletion_resume(user_id=website.owner_id)


def webapp_reset(*, operation: Operation) -> None:
    website = _site(operation)
    if website is None:
        return
    website.app_id = str(_output(operation).get("app", website.app_id))
    if website.kind == Website.Kind.SFTP:
        website.sftp_username = website.app_id
    if website.status == Status.PROVISIONING:  # a retried reset
        website.status = Status.LIVE
    _save(website, "app_id", "sftp_username", "status")
    if website.kind != Website.Kind.SFTP:
        content.publisher().deploy(website=website, reason="reset")  # the reset emptied the web root
    if website.is_suspended:  # the reinstalled app starts public
        website_access(website=website, state=SUSPENDED)
    if website.pending_password:
        emails.send_sftp_password(website=website)


def sftp_password_set(*, operation: Operation) -> None:
    website = _site(operation)
    if website is not None and website.pending_password:
        emails.send_sftp_password(website=website)
    if website is not None and website.status == Status.PROVISIONING:
        website.status = Status.LIVE
        _save(website, "status")
    if website is not None and website.kind != Website.Kind.SFTP and website.status == Status.LIVE:
        content.publisher().deploy(website=website, reason="sftp")  # the login its deploy waited for


def git_synced(*, operation: Operation) -> None:
    Website.objects.filter(pk=_website_id(operation)).update(synced_at=operation.finished_at, error="")


def error_kept(*, operation: Operation) -> None:
    """A step that leaves the site's status alone failed for good: a git sync (the site stays
    live with its last good content) or an access change (its access on YunoHost is not what
    the row says). The error is kept, staff are told and can retry the step."""
    website = _site(operation)
    if website is None:
        return
    website.error = operation.error
    _save(website, "error")
    _notify_failure(website, operation)


def certificate_installed(*, operation: Operation) -> None:
    _set_certificate(operation, Website.Certificate.OK)


def certificate_failing(*, operation: Operation) -> None:
    """Let's Encrypt's tries are used up (docs/yunohost.md §10.1): the site stays live; staff are
    told, and their retry checks DNS before asking Let's Encrypt again."""
    _set_certificate(operation, Website.Certificate.FAILING)
    notifications.operation_failed(
        operation_id=operation.pk,
        kind=operation.kind,
        subject=operation.subject,
        attempts=operation.attempts,
        error=operation.error,
    )


def certificate_retried(*, operation: Operation) -> None:
    _set_certificate(operation, Website.Certificate.PENDING)


def _set_certificate(operation: Operation, state: str) -> None:
    Website.objects.filter(pk=_website_id(operation)).update(certificate=state)


def _website_id(operation: Operation) -> int:
    # Every website step carries its site's id (website_operation_args); 0 matches no row.
    return int((operation.args or {}).get("website_id") or 0)


def register_outcomes() -> None:
    outcomes.register(Kind.DOMAIN_ADD, on_succeeded=domain_added, on_failed=step_failed, on_retried=step_retried)
    outcomes.register(Kind.APP_INSTALL, on_succeeded=app_installed, on_failed=step_failed, on_retried=step_retried)
    outcomes.register(Kind.APP_REMOVE, on_succeeded=app_removed, on_failed=step_failed, on_retried=step_retried)
    outcomes.register(Kind.DOMAIN_REMOVE, on_succeeded=domain_removed, on_failed=step_failed, on_retried=step_retried)
    outcomes.register(Kind.WEBAPP_RESET, on_succeeded=webapp_reset, on_failed=step_failed, on_retried=step_retried)
    outcomes.register(
        Kind.APP_CONFIG_SET, on_succeeded=sftp_password_set, on_failed=step_failed, on_retried=step_retried
    )
    outcomes.register(Kind.GIT_SYNC, on_succeeded=git_synced, on_failed=error_kept)
    outcomes.register(Kind.WEBAPP_ACCESS, on_failed=error_kept)
    outcomes.register(
        Kind.CERT_INSTALL,
        on_succeeded=certificate_installed,
        on_failed=certificate_failing,
        on_retried=certificate_retried,
    )
