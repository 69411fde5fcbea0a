"""Staff notifications on Discord, through a webhook that pings the admin role.

`notify_staff` queues a task through the outbox (sent once the caller's transaction commits); the task POSTs to
DISCORD_WEBHOOK_URL and retries what a retry can fix (rate limits, 5xx, network errors). With
no webhook URL configured, nothing is queued. Messages are written by our code for staff and
never carry a secret; the webhook URL is itself a secret (it embeds the webhook's token), so it
never reaches a log either (requests' exceptions name the URL, hence only their class is logged).
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from celery import Task, shared_task
from django.conf import settings

from blahaj import outbox

logger = logging.getLogger("blahaj.discord")  # the name it has always logged under

MAX_CONTENT = 2000  # Discord refuses longer messages
MAX_RETRIES = 5
_TIMEOUT = (5, 10)  # connect, read: seconds
_DEFAULT_BACKOFF = 30.0
_MAX_RETRY_AFTER = 3600.0


class RetryLater(Exception):
    """Discord could not take the message now; try again after `after` seconds."""

    def __init__(self, reason: str, *, after: float) -> None:
        super().__init__(f"{reason}; retrying in {after:g} s")
        self.after = after


def notify_staff(*, event: str, message: str) -> None:
    """Tell staff about `event` (a short slug such as "operation_failed")."""
    if not settings.DISCORD_WEBHOOK_URL:
        return
    outbox.enqueue(post_to_discord, event, message)


def build_payload(*, event: str, message: str) -> dict[str, Any]:
    role = settings.DISCORD_ADMIN_ROLE_ID
    prefix = f"<@&{role}> " if role else ""
    content = f"{prefix}[{event}] {message}"
    if len(content) > MAX_CONTENT:
        content = content[: MAX_CONTENT - 1] + "…"
    # Only the admin role may be pinged, whatever a username inside the message looks like.
    return {"content": content, "allowed_mentions": {"parse": [], "roles": [role] if role else []}}


def _retry_after(response: requests.Response) -> float:
    try:
        seconds = float(response.json().get("retry_after"))
    except (ValueError, TypeError, AttributeError):
        seconds = float(response.headers.get("Retry-After") or _DEFAULT_BACKOFF)
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def deliver(*, event: str, message: str) -> None:
    """POST one message. Raises RetryLater for 429, 5xx and network errors."""
    url = settings.DISCORD_WEBHOOK_URL
    if not url:
        return
    try:
        response = requests.post(url, json=build_payload(event=event, message=message), timeout=_TIMEOUT)
    except requests.RequestException as exc:
        raise RetryLater(f"network error ({type(exc).__name__})", after=_DEFAULT_BACKOFF) from None
    if response.status_code == 429:
        raise RetryLater("rate limited", after=_retry_after(response))
    if response.status_code >= 500:
        raise RetryLater(f"Discord answered {response.status_code}", after=_DEFAULT_BACKOFF)
    if response.status_code >= 400:
        # A deleted webhook or a malformed message: retrying cannot help.
        logger.error("Discord refused the %s notification with HTTP %s.", event, response.status_code)


@shared_task(bind=True, base=outbox.OutboxTask, name="blahaj.discord.post", max_retries=MAX_RETRIES, ignore_result=True)
def post_to_discord(self: Task, event: str, message: str) -> None:
    try:
        deliver(event=event, message=message)
    except RetryLater as exc:
        if self.request.retries >= MAX_RETRIES:
            logger.error("Dropped the %s notification after %d tries: %s.", event, self.request.retries + 1, exc)
            return
        raise self.retry(countdown=exc.after, exc=exc) from None
