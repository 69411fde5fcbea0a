"""Reads of websites: what the API, the pages and the admin show."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from provisioning import selectors as lane_selectors
from provisioning.models import Operation

from . import content, emails, lane
from .models import Website

Kind = Operation.Kind
Status = Website.Status
# The provisioning plan as its owner sees it: (step, label).
PLAN = [
    ("confirm", gettext_lazy("Request confirmed")),
    ("verify", gettext_lazy("Domain ownership verified")),
    (Kind.DOMAIN_ADD, gettext_lazy("Domain added to the server")),
    (Kind.APP_INSTALL, gettext_lazy("Web space installed")),
    ("publish", gettext_lazy("Content built and published")),
    ("live", gettext_lazy("Website online")),
    (Kind.CERT_INSTALL, gettext_lazy("Secure certificate (in the background)")),
]
OPERATION_STATES = {
    Operation.Status.PENDING: "pending",
    Operation.Status.RUNNING: "running",
    Operation.Status.SUCCEEDED: "done",
    Operation.Status.FAILED: "failed",
}


def websites_visible(*, user: User) -> QuerySet[Website]:
    """Staff see every site; a member sees their own."""
    queryset = Website.objects.select_related("owner")
    return queryset if user.is_staff else queryset.filter(owner=user)


def websites_owned(*, user: User) -> QuerySet[Website]:
    """A member's own sites, deleted ones left out (the member pages; staff included)."""
    return Website.objects.select_related("owner").filter(owner=user).exclude(status=Status.DELETED)


def websites_counted(*, owner_id: int) -> int:
    """How many of the owner's sites count against the tier's `max_websites`: every one not deleted."""
    return Website.objects.filter(owner_id=owner_id).exclude(status=Status.DELETED).count()


def website_allowance(*, user: User) -> dict[str, Any]:
    """What the member's tier allows and how much of it is used, told before the limit is hit."""
    tier = user.tier
    allowed = tier.max_websites if tier is not None else 0
    used = websites_counted(owner_id=user.pk)
    return {
        "tier": tier.name if tier is not None else "",
        "allowed": allowed,
        "used": used,
        "left": max(0, allowed - used),
        "custom_domains": bool(tier and tier.custom_domains),
        "base_domain": settings.YUNOHOST_DOMAIN,
    }


def website_from_key(key: str) -> Website | None:
    try:
        pk = signing.loads(key, salt=emails.PROGRESS_SALT)
    except signing.BadSignature:
        return None
    return Website.objects.select_related("owner").filter(pk=pk).first() if isinstance(pk, int) else None


def _operations(website: Website) -> dict[str, Operation]:
    """The latest operation of each kind of this site (a retried step is the same row)."""
    rows = Operation.objects.filter(
        subject__in=[website.subject, lane.cert_subject(website.domain)], args__website_id=website.pk
    ).order_by("sequence", "id")
    return {row.kind: row for row in rows}


def website_steps(website: Website, *, with_errors: bool = False) -> list[dict[str, Any]]:
    operations = _operations(website)
    steps = []
    for name, label in PLAN:
        if name == "verify" and not website.is_custom_domain:
            continue
        if name == "publish" and website.kind == Website.Kind.SFTP:
            continue
        step: dict[str, Any] = {"name": str(name), "label": str(label), "state": _state(website, name, operations)}
        operation = operations.get(name)
        if step["state"] == "failed" and operation is not None:
            step["error"] = (
                operation.error if with_errors else str(emails.STEP_SENTENCES.get(name, _("This step failed.")))
            )
        steps.append(step)
    return steps


def _state(website: Website, name: str, operations: dict[str, Operation]) -> str:
    if name == "confirm":
        return "done" if website.confirmed_at else "waiting"
    if name == "verify":
        return "done" if website.verified_at else ("pending" if website.confirmed_at else "waiting")
    if name == "live":
        return "done" if website.live_at else "waiting"
    if name == "publish":
        return content.publisher().step_state(website=website)
    operation = operations.get(name)
    return OPERATION_STATES[Operation.Status(operation.status)] if operation else "waiting"


def certificate_detail(website: Website) -> dict[str, Any] | None:
    """What the certificate step is doing, in words for the owner (docs/api.md): None before it.

    While the name does not resolve to the server (docs/yunohost.md §10.1), a custom domain's
    owner is shown the records to set; a blahaj.land address only waits for DNS to propagate.
    """
    operation = _operations(website).get(Kind.CERT_INSTALL)
    if operation is None:
        return None
    try:
        output = json.loads(operation.output or "{}")
    except ValueError:
        output = {}
    output = output if isinstance(output, dict) else {}
    status = Operation.Status(operation.status)
    if status == Operation.Status.SUCCEEDED:
        if output.get("certificate") == "other":
            return {"state": "own", "message": _("The server's administrators installed a certificate for this site.")}
        return {"state": "installed", "message": _("Your site has a Let's Encrypt certificate.")}
    if status == Operation.Status.FAILED:
        return {
            "state": "failing",
            "message": _(
                "Let's Encrypt did not issue a certificate for this site. Our admins have been told and will retry it."
            ),
        }
    detail: dict[str, Any] = {"state": "requesting", "message": _("Asking Let's Encrypt for a certificate.")}
    if output.get("waiting") == "dns":
        if website.is_custom_domain:
            message = _("Waiting for your DNS to point at us: set these records at your DNS provider.")
            detail = {"state": "waiting_dns", "message": message, "records": output.get("records", [])}
        else:
            detail = {"state": "waiting_dns", "message": _("Waiting for the site's address to reach our server.")}
    elif output.get("waiting") == "letsencrypt":
        detail = {
            "state": "retrying",
            "message": _("Let's Encrypt has not issued the certificate yet: we will try again."),
        }
    if status == Operation.Status.PENDING and output.get("waiting"):
        detail["next_attempt_at"] = operation.next_attempt_at.isoformat()
    return detail


def website_progress(website: Website) -> dict[str, Any]:
    """The progress page's JSON: steps, and once live, the address and SFTP access."""
    data: dict[str, Any] = {
        "id": website.pk,
        "domain": website.domain,
        "kind": website.kind,
        "status": website.status,
        "certificate": website.certificate,
        "certificate_detail": certificate_detail(website),
        "steps": website_steps(website),
        "finished": website.status in (Status.LIVE, Status.FAILED, Status.DELETED),
    }
    place = lane_selectors.subject_place(subject=website.subject)
    data["provisioning"] = place.as_dict() if place is not None else None
    data["line"] = place.sentence() if place is not None else ""
    if website.status == Status.LIVE:
        data["url"] = website.url
        if website.kind == Website.Kind.SFTP:
            data["sftp"] = {
                "host": emails.sftp_host(website),
                "port": settings.WEBSITES_SFTP_PORT,
                "username": website.sftp_username,
            }
    if website.kind != Website.Kind.SFTP:
        data["deploy"] = content.publisher().summary(website=website)
        # A deploy under way keeps the page polling.
        if content.publisher().step_state(website=website) in ("pending", "running"):
            data["finished"] = False
    if website.status == Status.PENDING_VERIFICATION:
        data["verification"] = {"record": website.verification_record, "value": website.verification_token}
    return data
