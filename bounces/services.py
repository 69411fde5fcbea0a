"""Bounces and complaints: an address the ESP cannot deliver to gets no more email.

The ESP tells us through django-anymail's tracking webhook (`/anymail/<esp>/tracking/`, mounted
when ANYMAIL_WEBHOOK_SECRET is set; anymail checks the basic auth and, for the ESPs that sign
their calls, the signature, and refuses forged calls before any receiver runs). A hard bounce
(anymail's `bounced`, a permanent failure) or a spam complaint (`complained`) marks every account
with that address undeliverable (`email_undeliverable_at`, `_reason`), tells staff (the digest
email) and leaves a row in the audit log. A soft bounce (`deferred`) is the ESP's to retry.

From then on anymail's `pre_send` signal takes the address out of every message before the ESP
is called (the one place every email passes through, whatever built it), logs that it did,
and cancels a message left without recipients. The member is asked to give another address
(the /account/ page's banner, `email_undeliverable` in GET /api/user/me); a confirmed change of
address clears the mark (selfservice.services.user_confirm_email_change).
"""

from __future__ import annotations

import logging
from email.utils import parseaddr
from typing import Any

from anymail.exceptions import AnymailCancelSend
from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.utils import timezone

import audit
from accounts.models import User
from accounts.services import user_save
from notices import services as notice_services
from notices.models import StaffNotice

logger = logging.getLogger("accounts.bounces")  # the name it has always logged under

UNDELIVERABLE_EVENTS = {EventType.BOUNCED: "bounced", EventType.COMPLAINED: "complained"}


def _reason(event: AnymailTrackingEvent) -> str:
    what = UNDELIVERABLE_EVENTS[event.event_type]
    # anymail's normalised reason (bounced, spam, invalid...), never the ESP's free text: it may
    # quote the message.
    return f"{what} ({event.reject_reason})" if event.reject_reason else what


@transaction.atomic
def email_mark_undeliverable(*, email: str, reason: str, esp: str) -> list[User]:
    """Mark the accounts whose address is `email` (not already marked); staff are told once."""
    now = timezone.now()
    users = list(
        User.objects.select_for_update().filter(email__iexact=email.strip(), email_undeliverable_at__isnull=True)
    )
    for user in users:
        user.email_undeliverable_at, user.email_undeliverable_reason = now, reason[:200]
        # Through the services' save: every process drops its cached copy of the account.
        user_save(user, fields=["email_undeliverable_at", "email_undeliverable_reason"])
        audit.record(action="user.email.undeliverable", object=f"user:{user.username}", detail=f"{esp}: {reason}")
        notice_services.staff_notice_record(
            kind=StaffNotice.Kind.EMAIL_UNDELIVERABLE,
            text=f"The recovery email of {user.username} is undeliverable ({reason}): no email goes to it "
            "until they confirm another address.",
        )
        logger.warning("User %s: their recovery email is undeliverable (%s, from %s).", user.pk, reason, esp)
    return users


def tracking_received(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    """anymail's `tracking` signal (connected in BouncesConfig.ready)."""
    if event.event_type not in UNDELIVERABLE_EVENTS or not event.recipient:
        return
    # The ESP is no person: its call is recorded like a task's, under its name.
    with audit.scope(door=audit.Door.TASK, actor=f"esp:{esp_name.lower()}"):
        email_mark_undeliverable(email=event.recipient, reason=_reason(event), esp=esp_name)


def undeliverable_addresses(addresses: list[str]) -> set[str]:
    lowered = {address.strip().lower() for address in addresses}
    if not lowered:
        return set()
    marked = User.objects.filter(email_undeliverable_at__isnull=False)
    found = set()
    for address in lowered:
        if marked.filter(email__iexact=address).exists():
            found.add(address)
    return found


def _address(recipient: Any) -> str:
    return parseaddr(str(recipient))[1].strip().lower()


def before_send(sender: Any, message: Any, esp_name: str, **kwargs: Any) -> None:
    """anymail's `pre_send` signal: no email to an undeliverable address."""
    recipients = [*message.to, *message.cc, *message.bcc]
    blocked = undeliverable_addresses([_address(r) for r in recipients])
    if not blocked:
        return
    subject = " ".join(str(message.subject).split())[:80]
    logger.warning(
        "Not sending %r to %d undeliverable address(es) (a bounce or a complaint); the member is asked "
        "to give another.",
        subject,
        len(blocked),
    )
    message.to = [r for r in message.to if _address(r) not in blocked]
    message.cc = [r for r in message.cc if _address(r) not in blocked]
    message.bcc = [r for r in message.bcc if _address(r) not in blocked]
    if not (message.to or message.cc or message.bcc):
        raise AnymailCancelSend("every recipient is undeliverable")
