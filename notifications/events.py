"""What staff are told on Discord: one function per event, each with its own template.

Every message pings the admin role (see `notifications.discord.build_payload`, whose
`allowed_mentions` lets only that role be pinged) and is posted by a task after the caller's
transaction commits. Messages are built from plain values, never a secret; anything a user
typed (a username, a display name) or a YunoHost error that may quote it is neutralised first,
so it can neither ping anyone nor break the message's formatting.
"""

from __future__ import annotations

import re
from enum import StrEnum

from . import discord

MAX_VALUE = 300  # a field longer than this is cut: one message stays readable


class Event(StrEnum):
    SIGNUP_WAITING = "signup_waiting"
    ACCOUNT_CREATED = "account_created"
    PROVISIONING_FAILED = "provisioning_failed"
    OPERATION_FAILED = "operation_failed"
    TEST = "test"
    INVITATION_USED = "invitation_used"
    WEBSITE_REQUESTED = "website_requested"
    WEBSITE_LIVE = "website_live"
    WEBSITE_FAILED = "website_failed"
    SSG_SETUP_NEEDED = "ssg_setup_needed"
    WEBSITE_NOT_PUBLISHED = "website_not_published"
    DOMAIN_UNVERIFIED = "domain_unverified"
    ABUSE_REPORTED = "abuse_reported"
    LANE_STUCK = "lane_stuck"


TEMPLATES: dict[Event, str] = {
    Event.SIGNUP_WAITING: "{username} ({display_name}) confirmed their email and waits for approval.",
    Event.ACCOUNT_CREATED: "{username} now has a YunoHost account ({mail_address}).",
    Event.PROVISIONING_FAILED: "The YunoHost account of {username} could not be created "
    "(operation #{operation_id}, {attempts} attempt(s)): {error}",
    Event.OPERATION_FAILED: "YunoHost operation #{operation_id} ({kind}, {subject}) "
    "failed after {attempts} attempt(s): {error}",
    Event.TEST: "Test notification requested by {requested_by}: staff notifications work.",
    Event.INVITATION_USED: "{username} signed up with an invitation from {inviter}.",
    Event.WEBSITE_REQUESTED: "{username} asked for the website {domain} ({kind}).",
    Event.WEBSITE_LIVE: "The website {domain} of {username} is live.",
    Event.WEBSITE_FAILED: "The website {domain} of {username} could not be set up: step {step} failed "
    "(operation #{operation_id}): {error}",
    Event.SSG_SETUP_NEEDED: "The website {domain} of {username} uses a static site generator ({git_url}): "
    "its build needs setting up by hand.",
    Event.WEBSITE_NOT_PUBLISHED: "The website {domain} of {username} was not published (deploy #{deploy_id}): {error}",
    Event.DOMAIN_UNVERIFIED: "The custom domain {domain} of {username} no longer has its verification record.",
    Event.ABUSE_REPORTED: "Abuse report #{report_id} ({reason}) about {target}: {details}",
    Event.LANE_STUCK: "The YunoHost lane of server {server} has not moved for {minutes} minutes; "
    "{waiting} operation(s) wait (is its worker running, is the server answering?).",
}

# Mentions (<@1>, <@&2>, <#3>), @everyone/@here, and Markdown that could hide or restyle text.
_MENTION_RE = re.compile(r"<(@[!&]?|#)(\d+)>")
_MARKDOWN_RE = re.compile(r"([\\*_~`|>\[\]])")


def neutralise(value: object) -> str:
    """A user-provided value, safe inside a Discord message: one line, no pings, no Markdown."""
    text = " ".join(str(value).split())
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 1] + "…"
    text = _MENTION_RE.sub(lambda m: f"<{m.group(1)}\u200b{m.group(2)}>", text)
    text = text.replace("@", "@\u200b")  # a zero-width space: @everyone no longer reads as a ping
    return _MARKDOWN_RE.sub(r"\\\1", text)


def _send(event: Event, **values: object) -> None:
    message = TEMPLATES[event].format(**{name: neutralise(value) for name, value in values.items()})
    discord.notify_staff(event=event.value, message=message)


def signup_waiting(*, username: str, display_name: str, note: str = "") -> None:
    if note:
        # The applicant's words: neutralised and cut like every value, after a fixed label.
        message = TEMPLATES[Event.SIGNUP_WAITING] + " Their note: {note}"
        values = {"username": username, "display_name": display_name, "note": note}
        discord.notify_staff(
            event=Event.SIGNUP_WAITING.value,
            message=message.format(**{name: neutralise(value) for name, value in values.items()}),
        )
        return
    _send(Event.SIGNUP_WAITING, username=username, display_name=display_name)


def invitation_used(*, username: str, inviter: str) -> None:
    _send(Event.INVITATION_USED, username=username, inviter=inviter)


def abuse_reported(*, report_id: int, reason: str, target: str, details: str) -> None:
    # The target and details are the reporter's words: neutralised like every value.
    _send(Event.ABUSE_REPORTED, report_id=report_id, reason=reason, target=target, details=details)


def account_created(*, username: str, mail_address: str) -> None:
    _send(Event.ACCOUNT_CREATED, username=username, mail_address=mail_address)


def provisioning_failed(*, username: str, operation_id: int, attempts: int, error: str) -> None:
    _send(Event.PROVISIONING_FAILED, username=username, operation_id=operation_id, attempts=attempts, error=error)


def operation_failed(*, operation_id: int, kind: str, subject: str, attempts: int, error: str) -> None:
    _send(Event.OPERATION_FAILED, operation_id=operation_id, kind=kind, subject=subject, attempts=attempts, error=error)


def website_requested(*, username: str, domain: str, kind: str) -> None:
    _send(Event.WEBSITE_REQUESTED, username=username, domain=domain, kind=kind)


def website_live(*, username: str, domain: str) -> None:
    _send(Event.WEBSITE_LIVE, username=username, domain=domain)


def website_failed(*, username: str, domain: str, step: str, operation_id: int, error: str) -> None:
    _send(Event.WEBSITE_FAILED, username=username, domain=domain, step=step, operation_id=operation_id, error=error)


def ssg_setup_needed(*, username: str, domain: str, git_url: str) -> None:
    _send(Event.SSG_SETUP_NEEDED, username=username, domain=domain, git_url=git_url)


def website_not_published(*, username: str, domain: str, deploy_id: int, error: str) -> None:
    _send(Event.WEBSITE_NOT_PUBLISHED, username=username, domain=domain, deploy_id=deploy_id, error=error)


def domain_unverified(*, username: str, domain: str) -> None:
    _send(Event.DOMAIN_UNVERIFIED, username=username, domain=domain)


def lane_stuck(*, server: str, waiting: int, minutes: int) -> None:
    _send(Event.LANE_STUCK, server=server, waiting=waiting, minutes=minutes)


def staff_test(*, requested_by: str) -> bool:
    """Send a test message; False when no webhook is configured (nothing is sent)."""
    from django.conf import settings

    if not settings.DISCORD_WEBHOOK_URL:
        return False
    _send(Event.TEST, requested_by=requested_by)
    return True
