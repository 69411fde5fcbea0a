"""One deploy, on an ordinary worker queue (never the YunoHost lane): clone the repository into
a temporary folder, build it in the sandbox when it has a generator, publish the result through
the site's SFTP login, record how it went.

Only what YunoHost must do goes through the lane: a git site installed before sites published
through SFTP has no SFTP login; its first deploy queues the lane step that sets one, and that
step's success asks for the deploy again.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import notifications
from blahaj.crypto import SecretUnreadable, decrypt
from blahaj.queueing import send_after_commit
from websites import lane
from websites.models import Website

from . import build, clone, sandbox, services, sftp
from .models import Deploy, Publication

logger = logging.getLogger(__name__)
Result = Deploy.Result


class _Refused(Exception):
    """A deploy that cannot go on; `staff` marks a cause on the service's side."""

    def __init__(self, message: str, *, staff: bool = False, log: str = "") -> None:
        super().__init__(message)
        self.staff, self.log = staff, log


def _stale_after() -> timedelta:
    seconds = settings.WEBSITES_GIT_TIMEOUT + settings.WEBSITES_BUILD_TIMEOUT + settings.WEBSITES_PUBLISH_TIMEOUT
    return timedelta(seconds=2 * seconds + 60)


def _start(deploy_id: int) -> Deploy | None:
    with transaction.atomic():
        deploy = Deploy.objects.select_related("website__owner").filter(pk=deploy_id).first()
        if deploy is None:
            return None
        Publication.objects.select_for_update().filter(website_id=deploy.website_id).first()
        deploy.refresh_from_db()
        if deploy.result:
            return None  # ran already
        running = Deploy.objects.filter(website_id=deploy.website_id, result=Result.RUNNING).exclude(pk=deploy.pk)
        # A running deploy whose worker went away does not hold the site for ever.
        running.filter(started_at__lt=timezone.now() - _stale_after()).update(
            result=Result.FAILED, finished_at=timezone.now(), log_tail="Stopped: its worker went away."
        )
        if running.filter(result=Result.RUNNING).exists():
            return None  # that one starts this one when it ends
        deploy.result, deploy.started_at = Result.RUNNING, timezone.now()
        deploy.save(update_fields=["result", "started_at"])
    return deploy


def run(*, deploy_id: int) -> None:
    deploy = _start(deploy_id)
    if deploy is None:
        return
    website = deploy.website
    publication = services.publication_get(website=website)
    log: list[str] = []
    outcome: sftp.Result | None = None
    try:
        outcome = _work(website, publication, deploy, log)
    except _Refused as refused:
        if refused.log:
            log.append(refused.log)
        log.append(str(refused))
        _finish(deploy, Result.FAILED, log, error=str(refused), staff=refused.staff)
        return
    except Exception:
        logger.exception("Deploy %s of %s failed unexpectedly.", deploy.pk, website.domain)
        log.append("The deploy failed on the service's side: staff were told.")
        _finish(deploy, Result.FAILED, log, error="An unexpected error (see the worker's log).", staff=True)
        raise
    _finish(deploy, Result.OK, log, outcome=outcome)


def _work(website: Website, publication: Publication, deploy: Deploy, log: list[str]) -> sftp.Result:
    if website.status != Website.Status.LIVE or not website.app_id:
        raise _Refused("The site is not live: nothing was published.")
    if website.is_suspended:
        raise _Refused("The site is suspended: nothing was published.")
    password = _password(website, publication)
    work = Path(tempfile.mkdtemp(prefix="blahaj-deploy-"))
    try:
        os.chmod(work, 0o711)  # noqa: S103 - the sandbox's `nobody` may enter, not list
        source = work / "src"
        try:
            deploy.commit = clone.clone(website.git_url, source)
        except clone.CloneFailed as error:
            raise _Refused(f"{error} The last content stays online.") from None
        Deploy.objects.filter(pk=deploy.pk).update(commit=deploy.commit)
        log.append(f"Cloned {website.git_url} at {deploy.commit or 'an unknown commit'}.")
        shutil.rmtree(source / ".git", ignore_errors=True)
        _readable(source)
        generator = _generator(website, publication, source)
        Deploy.objects.filter(pk=deploy.pk).update(generator=generator)
        folder = source
        if generator != build.NONE:
            folder = work / "out"
            folder.mkdir()
            try:
                log.append(build.build(generator, source=source, output=folder))
            except sandbox.SandboxUnavailable as error:
                raise _Refused(f"Not built: {error}", staff=True) from None
            except sandbox.BuildFailed as error:
                raise _Refused(f"{error} The last content stays online.", log=error.log) from None
        target = sftp.Target(
            host=_sftp_host(website),
            port=settings.WEBSITES_PUBLISH_SFTP_PORT,
            username=website.app_id,
            password=password,
            host_key=_pinned(publication, website),
            known_hosts=settings.WEBSITES_PUBLISH_KNOWN_HOSTS,
            timeout=settings.WEBSITES_PUBLISH_TIMEOUT,
        )
        try:
            result = sftp.publish(target, folder, publication.manifest or {})
        except sftp.HostKeyChanged as error:
            raise _Refused(str(error), staff=True) from None
        except sftp.PublishFailed as error:
            raise _Refused(f"{error} The last content stays online.", staff=True) from None
        log.append(f"Published: {len(result.sent)} file(s) sent, {len(result.removed)} removed.")
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _generator(website: Website, publication: Publication, source: Path) -> str:
    """The site's setting, else: a git site is its repository as it is, an ssg site is built
    with the generator its repository names."""
    if publication.generator != Publication.Generator.AUTO:
        return publication.generator
    if website.kind == Website.Kind.GIT:
        return build.NONE
    generator = build.detect(source)
    if generator == build.NONE:
        raise _Refused(
            "No static site generator found in the repository (Hugo needs a hugo.toml, or a config.toml "
            "beside content/); nothing was published."
        )
    return generator


def _sftp_host(website: Website) -> str:
    """The SFTP door of the server the site is on (its owner's): the settings' for the first
    server, another server's main domain. Never the site's own domain: a custom one points
    wherever its owner wants."""
    server = website.owner.server if website.owner.server_id is not None else None
    if server is not None and not server.uses_settings and server.domain:
        return server.domain
    return settings.WEBSITES_PUBLISH_SFTP_HOST or settings.WEBSITES_SFTP_HOST or settings.YUNOHOST_DOMAIN


def _pinned(publication: Publication, website: Website) -> str:
    """The site's pinned key, else the one another site of the same server pinned (the sites of
    a server publish through its one SFTP door): only the first publish to a server learns it."""
    if publication.host_key:
        return publication.host_key
    server_id = website.owner.server_id
    pinned = Publication.objects.exclude(host_key="")
    if server_id is None:
        same_server = pinned.filter(website__owner__server__isnull=True)
    else:
        same_server = pinned.filter(website__owner__server_id=server_id)
    other = same_server.order_by("-pk").values_list("host_key", flat=True).first()
    return other or ""


def _password(website: Website, publication: Publication) -> str:
    if not publication.sftp_password:
        # Installed without SFTP: the lane sets a password (and turns SFTP on), then deploys.
        with transaction.atomic():
            locked = Website.objects.select_for_update().select_related("owner").get(pk=website.pk)
            lane.website_set_sftp_password(website=locked)
        raise _Refused("The site's SFTP login is being set up: it is deployed again once it is.")
    try:
        return decrypt(publication.sftp_password)
    except SecretUnreadable:
        raise _Refused("The site's SFTP password cannot be decrypted: staff must reset the site.", staff=True) from None


def _readable(folder: Path) -> None:
    """The clone readable by the sandbox's `nobody`, whatever the worker's umask."""
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)  # noqa: S103 - a public repository's files
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)
    os.chmod(folder, 0o755)  # noqa: S103


def _finish(
    deploy: Deploy,
    result: str,
    log: list[str],
    *,
    outcome: sftp.Result | None = None,
    error: str = "",
    staff: bool = False,
) -> None:
    with transaction.atomic():
        publication = Publication.objects.select_for_update().get(website_id=deploy.website_id)
        deploy.result, deploy.finished_at = result, timezone.now()
        deploy.log_tail = sandbox.tail("\n".join(log))
        if outcome is not None:
            deploy.files_sent, deploy.files_removed = len(outcome.sent), len(outcome.removed)
            publication.manifest = outcome.manifest
            if not settings.WEBSITES_PUBLISH_KNOWN_HOSTS and not publication.host_key:
                publication.host_key = outcome.host_key  # pinned from now on
            publication.save(update_fields=["manifest", "host_key"])
            Website.objects.filter(pk=deploy.website_id).update(synced_at=deploy.finished_at, error="")
        else:
            Website.objects.filter(pk=deploy.website_id).update(error=error)
        deploy.save(update_fields=["result", "finished_at", "log_tail", "files_sent", "files_removed"])
        waiting = Deploy.objects.filter(website_id=deploy.website_id, result="").first()
        if waiting is not None:
            send_after_commit(services.TASK, waiting.pk)
        if staff:
            owner = deploy.website.owner
            notifications.website_not_published(
                username=owner.username, domain=deploy.website.domain, deploy_id=deploy.pk, error=error
            )
