"""The publishing services: a git or ssg site's SFTP password, deploys asked for and coalesced,
the webhook's secret and its deliveries. Keyword-only; what leaves the process (the deploy task)
is sent after the commit.

Coalescing: a site has at most one deploy running and one waiting. A deploy asked for while one
waits is that one; while one runs, a waiting one is recorded and starts when the running one
ends. So ten pushes in a minute give at most two builds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from blahaj.crypto import SecretUnreadable, decrypt, encrypt
from blahaj.errors import ApplicationError, Conflict
from blahaj.queueing import send_after_commit
from websites.models import Website

from . import clone
from .models import Deploy, Publication

TASK = "publishing.tasks.deploy"
PUBLISHED_KINDS = (Website.Kind.GIT, Website.Kind.SSG)


class NotLive(Conflict):
    code = "not_live"
    message = gettext_lazy("This site is not live yet: it is deployed once it is.")  # a lazy translation


class SignatureInvalid(ApplicationError):
    status_code = 403
    code = "signature_invalid"
    message = gettext_lazy("This delivery's signature is missing or wrong.")  # a lazy translation


def publication_get(*, website: Website) -> Publication:
    """The site's publication row, made on first use (with a webhook id, no secret yet)."""
    publication, _created = Publication.objects.get_or_create(
        website=website, defaults={"webhook_id": secrets.token_urlsafe(16)}
    )
    return publication


def sftp_password_keep(*, website: Website, password: str) -> None:
    """The password a lane step sets for a git or ssg site's SFTP login, kept encrypted: the
    deploys log in with it. Called in the transaction that queues that step."""
    publication = publication_get(website=website)
    publication.sftp_password = encrypt(password)
    publication.save(update_fields=["sftp_password"])


def webhook_url(*, publication: Publication) -> str:
    path = reverse("website-hook", kwargs={"website_id": publication.website_id, "public_id": publication.webhook_id})
    return f"{settings.SITE_URL}{path}"


@transaction.atomic
def deploy_request(*, website: Website, reason: str) -> Deploy:
    """A deploy of the site: the waiting one if there is one, else a new one, sent to a worker
    at once unless one runs (that one starts it when it ends)."""
    Publication.objects.filter(pk=publication_get(website=website).pk).select_for_update().get()
    waiting = Deploy.objects.filter(website=website, result="").first()
    if waiting is not None:
        return waiting
    deploy = Deploy.objects.create(website=website, reason=reason)
    if not Deploy.objects.filter(website=website, result=Deploy.Result.RUNNING).exists():
        send_after_commit(TASK, deploy.pk)
    return deploy


def deploy_for_owner(*, website: Website) -> Deploy:
    if website.kind not in PUBLISHED_KINDS:
        raise Conflict(
            _("Only git and ssg sites are deployed: upload an SFTP site's files yourself."), code="no_deploy"
        )
    if website.status != Website.Status.LIVE or not website.app_id:
        raise NotLive()
    if website.is_suspended:
        raise Conflict(_("This site is suspended: ask staff."), code="website_suspended")
    return deploy_request(website=website, reason="owner")


def deploys_pull() -> int:
    """The beat's fallback pull (in a worker): a deploy of each live git or ssg site whose
    repository moved since its last good deploy (`git ls-remote`), or that has none; one that
    cannot be asked is deployed, so its owner sees why. Returns how many were asked for."""
    live = (
        Website.objects.filter(status=Website.Status.LIVE, kind__in=PUBLISHED_KINDS, suspended_at__isnull=True)
        .exclude(app_id="")
        .order_by("pk")
    )
    queued = 0
    with tempfile.TemporaryDirectory(prefix="blahaj-pull-") as home:
        for website in live:
            last = Deploy.objects.filter(website=website, result=Deploy.Result.OK).order_by("-started_at").first()
            if last is not None and last.commit and clone.remote_head(website.git_url, Path(home)) == last.commit:
                continue
            deploy_request(website=website, reason="pull")
            queued += 1
    return queued


@transaction.atomic
def webhook_secret_rotate(*, website: Website) -> tuple[str, str]:
    """A new webhook secret (the old one stops working); returns (url, secret), shown once."""
    if website.kind not in PUBLISHED_KINDS:
        raise Conflict(_("Only git and ssg sites have a webhook."), code="no_deploy")
    publication = Publication.objects.select_for_update().filter(pk=publication_get(website=website).pk).get()
    secret = secrets.token_urlsafe(32)
    publication.webhook_secret = encrypt(secret)
    publication.save(update_fields=["webhook_secret"])
    return webhook_url(publication=publication), secret


def _signed(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    for name in ("X-Forgejo-Signature", "X-Gitea-Signature"):
        if headers.get(name):
            return hmac.compare_digest(headers[name].strip().lower(), expected)
    if headers.get("X-Hub-Signature-256"):
        return hmac.compare_digest(headers["X-Hub-Signature-256"].strip().lower(), f"sha256={expected}")
    if headers.get("X-Gitlab-Token"):
        return hmac.compare_digest(headers["X-Gitlab-Token"].encode(), secret.encode())
    return False


def webhook_deliver(*, website_id: int, public_id: str, body: bytes, headers: Mapping[str, str]) -> Deploy:
    """A push delivery: verified against the site's secret, then a deploy (coalesced). Every
    refusal is the same 403, for an unknown site as for a wrong signature."""
    publication = (
        Publication.objects.select_related("website")
        .filter(website_id=website_id, webhook_id=public_id)
        .exclude(webhook_secret="")
        .first()
    )
    if publication is None or not hmac.compare_digest(publication.webhook_id, public_id):
        raise SignatureInvalid()
    try:
        secret = decrypt(publication.webhook_secret)
    except SecretUnreadable:
        raise SignatureInvalid() from None
    if not _signed(secret, body, headers):
        raise SignatureInvalid()
    website = publication.website
    if website.status != Website.Status.LIVE or not website.app_id or website.is_suspended:
        raise NotLive()
    return deploy_request(website=website, reason="push")
