"""The publisher `websites` calls (websites/content.py), registered in PublishingConfig.ready()."""

from __future__ import annotations

from typing import Any

from websites.models import Website

from . import selectors, services


class Publisher:
    def created(self, *, website: Website) -> None:
        services.publication_get(website=website)

    def keep_sftp_password(self, *, website: Website, password: str) -> None:
        services.sftp_password_keep(website=website, password=password)

    def deploy(self, *, website: Website, reason: str) -> None:
        services.deploy_request(website=website, reason=reason)

    def deploy_for_owner(self, *, website: Website) -> None:
        services.deploy_for_owner(website=website)

    def webhook_secret_rotate(self, *, website: Website) -> tuple[str, str]:
        return services.webhook_secret_rotate(website=website)

    def pull(self) -> int:
        return services.deploys_pull()

    def published(self, *, website: Website) -> bool:
        return website.kind in services.PUBLISHED_KINDS

    def step_state(self, *, website: Website) -> str:
        return selectors.deploy_step_state(website=website)

    def summary(self, *, website: Website) -> dict[str, Any]:
        return selectors.deploy_summary(website=website)

    def webhook_url(self, *, website: Website) -> str | None:
        return selectors.webhook_url(website=website)
