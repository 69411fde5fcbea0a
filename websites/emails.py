"""The website emails: one function per email, three templates per email (as accounts/emails.py).

`send_*` queue the email (websites/tasks.py) through the outbox, sent after the caller's
transaction commits; the task
carries the email's kind and the site's id only. The confirmation link's token is issued in the
worker and the one SFTP password email reads the password, encrypted on the site's row, there:
neither travels through the broker. Each goes to the owner's blahaj.land mailbox and to their
recovery address, in the owner's language (blahaj.mail renders it).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from blahaj import mail, outbox

CONFIRMATION = "website_confirmation"
LIVE = "website_live"
FAILED = "website_failed"
DELETED = "website_deleted"
SFTP_PASSWORD = "website_sftp_password"  # noqa: S105 - not a password
SUSPENDED = "website_suspended"
UNSUSPENDED = "website_unsuspended"
PROGRESS_SALT = "websites.progress"
KINDS = (CONFIRMATION, LIVE, FAILED, DELETED, SFTP_PASSWORD, SUSPENDED, UNSUSPENDED)

# What a failed step means, in words a member understands.
STEP_SENTENCES = {
    "domain.add": _("we could not add your domain to the server"),
    "app.install": _("we could not install the web space for your site"),
    "app.remove": _("we could not remove your site's web space"),
    "domain.remove": _("we could not remove your domain from the server"),
    "webapp.reset": _("we could not reset your site's files"),
    "app.config_set": _("we could not change your SFTP password"),
}
UNKNOWN_STEP_SENTENCE = _("a step of its setup failed")


def _queue(kind: str, website: Any) -> None:
    outbox.enqueue("websites.tasks.send_website_email", kind, website.pk)


def send_confirmation(*, website: Any) -> None:
    """A link to /confirm_site?token=... (WEBSITES_CONFIRM_TOKEN_LIFETIME)."""
    _queue(CONFIRMATION, website)


def send_live(*, website: Any) -> None:
    """The site is online: its address and, for SFTP, host, port and login (never the password)."""
    _queue(LIVE, website)


def send_failed(*, website: Any) -> None:
    _queue(FAILED, website)


def send_deleted(*, website: Any) -> None:
    _queue(DELETED, website)


def send_sftp_password(*, website: Any) -> None:
    """The one email that holds an SFTP password."""
    _queue(SFTP_PASSWORD, website)


def send_suspended(*, website: Any) -> None:
    """The site answers only to its owner now, and why (the reason staff gave)."""
    _queue(SUSPENDED, website)


def send_unsuspended(*, website: Any) -> None:
    _queue(UNSUSPENDED, website)


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def confirmation_link(token: str) -> str:
    return absolute_url(reverse("websites-seed:confirm-site")) + f"?token={token}"


def progress_key(website: Any) -> str:
    """What opens a site's progress page without logging in (a signed id; the page shows
    nothing secret)."""
    return signing.dumps(website.pk, salt=PROGRESS_SALT)


def page_url(website: Any) -> str:
    return absolute_url(reverse("websites-pages:detail", args=[website.pk])) + f"?key={progress_key(website)}"


def sftp_host(website: Any) -> str:
    """The SFTP host a member is told: another server's main domain for a site on it, else
    WEBSITES_SFTP_HOST, else the site's own domain."""
    server = website.owner.server if website.owner.server_id is not None else None
    if server is not None and not server.uses_settings and server.domain:
        return str(server.domain)
    return settings.WEBSITES_SFTP_HOST or website.domain


def render(kind: str, *, website: Any, **extra: Any) -> EmailMultiAlternatives:
    """The `kind` email about `website` to its owner, in the owner's language."""
    owner = website.owner
    context = {
        **extra,
        "website": website,
        "user": owner,
        "page_url": page_url(website),
        "sftp_host": sftp_host(website),
        "sftp_port": settings.WEBSITES_SFTP_PORT,
        "confirm_hours": settings.WEBSITES_CONFIRM_TOKEN_LIFETIME // 3600,
        "failure": STEP_SENTENCES.get(website.failed_step, UNKNOWN_STEP_SENTENCE),
    }
    recipients = list(dict.fromkeys([owner.mail_address, owner.email]))
    return mail.render(kind, to=recipients, **context)
