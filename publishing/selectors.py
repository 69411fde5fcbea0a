"""Reads of publishing: a site's last deploy and its webhook URL, as the API and the progress
page show them."""

from __future__ import annotations

from typing import Any

from websites.models import Website

from . import services
from .models import Deploy, Publication

# The progress page's step for a deploy's result.
STEP_STATES = {
    "": "pending",
    Deploy.Result.RUNNING: "running",
    Deploy.Result.OK: "done",
    Deploy.Result.FAILED: "failed",
}


def deploy_last(*, website: Website) -> Deploy | None:
    """The latest deploy that started (or, when none did, the one waiting)."""
    started = Deploy.objects.filter(website_id=website.pk).exclude(result="").order_by("-started_at", "-id").first()
    return started or Deploy.objects.filter(website_id=website.pk).order_by("-id").first()


def deploy_summary(*, website: Website, deploy: Deploy | None = None) -> dict[str, Any]:
    """`deploy` of GET /api/websites/<id> (docs/api.md §3), of the site's last deploy or of
    `deploy`: every key null before a first deploy."""
    deploy = deploy or deploy_last(website=website)
    if deploy is None:
        return {"commit": None, "started_at": None, "finished_at": None, "result": None, "log_tail": None}
    return {
        "commit": deploy.commit or None,
        "started_at": deploy.started_at.isoformat().replace("+00:00", "Z") if deploy.started_at else None,
        "finished_at": deploy.finished_at.isoformat().replace("+00:00", "Z") if deploy.finished_at else None,
        "result": deploy.result or None,
        "log_tail": deploy.log_tail or None,
    }


def deploy_step_state(*, website: Website) -> str:
    deploy = deploy_last(website=website)
    return "waiting" if deploy is None else STEP_STATES[deploy.result]


def webhook_url(*, website: Website) -> str | None:
    if website.kind not in services.PUBLISHED_KINDS:
        return None
    publication = Publication.objects.filter(website_id=website.pk).first()
    return services.webhook_url(publication=publication) if publication else None
