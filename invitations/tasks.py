"""Celery tasks of the invitations: thin, they take ids (and a language code), never a link's secret."""

from __future__ import annotations

from celery import shared_task

from blahaj.mail import EmailTask, delivery

from . import services

# Registered under the names they had in the accounts app: outbox rows and broker messages of a
# running deployment name them so.


@shared_task(base=EmailTask, name="accounts.tasks.send_invitation")
def send_invitation(invitation_id: int, language: str = "") -> None:
    """`language`: the code of the language the inviting request spoke (a message queued before
    it was passed has none: English)."""
    with delivery(f"invitation {invitation_id}"):
        services.invitation_deliver(invitation_id=invitation_id, language=language)


@shared_task(base=EmailTask, name="accounts.tasks.send_invitation_used")
def send_invitation_used(inviter_id: int, invitation_id: int) -> None:
    with delivery(f"the invitation-used email of invitation {invitation_id}"):
        services.invitation_used_deliver(inviter_id=inviter_id, invitation_id=invitation_id)
