"""How a git or ssg site gets its content: through a publisher that an app above this one
registers (the `publishing` app, in its AppConfig.ready()).

The lane asks for a deploy when a site goes live, is reset or gets its SFTP login back; the
pages and the API show the last deploy. `websites` never imports `publishing`: it calls the one
registered publisher, so the two apps stay independent and the dependency runs downhill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .models import Website


class Publisher(Protocol):
    def created(self, *, website: Website) -> None:
        """A git or ssg site was requested: its webhook URL is shown from now on."""

    def keep_sftp_password(self, *, website: Website, password: str) -> None:
        """The SFTP password a lane step sets, kept for the deploys that log in with it."""

    def deploy(self, *, website: Website, reason: str) -> None:
        """A deploy of the site, coalesced with a waiting one."""

    def deploy_for_owner(self, *, website: Website) -> None:
        """The owner's "deploy now": refused (ApplicationError) for an SFTP site or one not live."""

    def webhook_secret_rotate(self, *, website: Website) -> tuple[str, str]:
        """A new push webhook secret, the old one stops working: (url, secret), shown once."""

    def pull(self) -> int:
        """The beat's fallback pull: how many deploys were asked for."""

    def published(self, *, website: Website) -> bool:
        """Whether the site's content comes through deploys (a git or ssg site)."""

    def step_state(self, *, website: Website) -> str:
        """The "publish" step of the progress: waiting, pending, running, done or failed."""

    def summary(self, *, website: Website) -> dict[str, Any]:
        """`deploy` of GET /api/websites/<id>: the last deploy, every key null before one."""

    def webhook_url(self, *, website: Website) -> str | None:
        """The push webhook's URL of a git or ssg site, None for the others."""


_publisher: Publisher | None = None


def register(publisher: Publisher) -> None:
    global _publisher
    _publisher = publisher


def publisher() -> Publisher:
    if _publisher is None:  # a project without the publishing app cannot serve git or ssg sites
        raise RuntimeError("No publisher is registered: add the publishing app to INSTALLED_APPS.")
    return _publisher
