"""Invitations."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

import audit
from blahaj import notifications, outbox
from blahaj.errors import ApplicationError, Conflict, Forbidden
from tiers import services as tier_services
from tiers.models import ReferralCode, Tier

from .. import emails
from ..models import Invitation, User
from ..validators import normalize_email
from .lifecycle import user_begin_provisioning
from .records import _invalid
from .tiers import _referral_code_claim


class InvitationInvalid(ApplicationError):
    code = "invitation_invalid"
    message = "This invitation link is not valid."


# Plain words for the sign-up page, by the invitation's state.
INVITATION_DEAD = {
    "unknown": "This invitation link is not valid: it may have been mistyped.",
    "used": "This invitation has already been used.",
    "cancelled": "This invitation was cancelled by the person who sent it.",
    "expired": "This invitation has expired.",
}


def _invitation_pending() -> Q:
    return Q(used_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=timezone.now())


def invitation_for_link(*, raw: str) -> Invitation:
    """The pending invitation of a link (the sign-up page's GET); InvitationInvalid otherwise,
    whose `code` is `invitation_<state>` and `message` says why in plain words."""
    invitation = Invitation.objects.filter(digest=Invitation.digest_of(raw)).first() if raw else None
    state = "unknown" if invitation is None else invitation.state
    if invitation is None or state != "pending":
        raise InvitationInvalid(INVITATION_DEAD[state], code=f"invitation_{state}")
    return invitation


def _invitation_for_signup(*, raw: str, email: str) -> Invitation:
    invitation = invitation_for_link(raw=raw)
    if invitation.email.lower() != email.lower():
        # The link confirms one address: another one would go unconfirmed.
        raise InvitationInvalid(
            fields={"email": ["This invitation is for another address: sign up with the invited one."]}
        )
    return invitation


def _invitation_claim(invitation: Invitation) -> tuple[int, int]:
    """Use the invitation (conditional UPDATE: of two concurrent sign-ups one wins) and take
    its referral code, like any referral."""
    won = Invitation.objects.filter(_invitation_pending(), pk=invitation.pk).update(used_at=timezone.now())
    if not won:
        raise InvitationInvalid(INVITATION_DEAD["used"], code="invitation_used")
    return _referral_code_claim(invitation.referral_code.code)


def _invitation_accepted(invitation: Invitation, *, user: User) -> None:
    """The invited account exists (in the sign-up's transaction): provisioning starts, the
    inviter is told by email and staff on Discord."""
    Invitation.objects.filter(pk=invitation.pk).update(invitee=user)
    ReferralCode.objects.filter(pk=invitation.referral_code_id).update(is_active=False)
    user_begin_provisioning(user=user)
    if invitation.inviter_id is not None:
        emails.send_invitation_used(inviter_id=invitation.inviter_id, invitation_id=invitation.pk)
    inviter = invitation.inviter.username if invitation.inviter is not None else "staff"
    notifications.invitation_used(username=user.username, inviter=inviter)


def _invitation_cap(inviter: User) -> None:
    cap = Tier.objects.values_list("max_referral_codes", flat=True).get(pk=inviter.tier_id)
    pending = Invitation.objects.filter(_invitation_pending(), inviter=inviter).count()
    if pending >= cap:
        raise ApplicationError(
            f"You already have {cap} pending invitation(s), the most your tier allows.",
            code="invitation_limit",
            status_code=429,
        )


@transaction.atomic
@audit.audited(
    "invitation.create",
    target=lambda _, invitation: f"invitation:{invitation.pk if invitation else 'new'}",
    detail=lambda kwargs, invitation: (
        f"for {invitation.email}" + (f", tier {kwargs['tier'].slug}" if kwargs.get("tier") else "")
    ),
)
def invitation_create(*, inviter: User, email: str, note: str = "", tier: Tier | None = None) -> Invitation:
    """Invite `email` to sign up: a single-use referral code owned by the inviter, and an
    email whose link (INVITATIONS_TTL) opens the sign-up page.

    Staff may put the account on a tier; members (REFERRALS_USER_CODES) invite onto the
    default tier, at most their tier's `max_referral_codes` pending invitations at once.
    """
    if not inviter.is_staff:
        if not settings.REFERRALS_USER_CODES:
            raise Forbidden("Members cannot send invitations.", code="permission_denied")
        if tier is not None:
            raise Forbidden("Only staff choose an invited account's tier.", code="permission_denied")
        # The inviter's row lock serialises two invitations of one member, so the cap holds.
        User.objects.select_for_update().only("pk").get(pk=inviter.pk)
        _invitation_cap(inviter)
    address = normalize_email(email.strip())
    invitation = Invitation(email=address, note=note.strip(), inviter=inviter)
    _judge_invitation(invitation)
    if User.objects.filter(email__iexact=address).exists():
        # Whose account it is stays unsaid.
        raise Conflict("An account already uses this address.", code="email_taken")
    now = timezone.now()
    invitation.created_at = now
    invitation.expires_at = now + timedelta(seconds=settings.INVITATIONS_TTL)
    invitation.referral_code = tier_services.referral_code_create(
        owner=inviter, tier=tier, max_uses=1, expires_at=invitation.expires_at, skips_approval=True
    )
    invitation.save()
    outbox.enqueue("accounts.tasks.send_invitation", invitation.pk)
    return invitation


def _judge_invitation(invitation: Invitation) -> None:
    try:
        invitation.full_clean(exclude=["referral_code", "expires_at", "inviter", "invitee"])
    except DjangoValidationError as error:
        raise _invalid(error.message_dict) from None


@transaction.atomic
@audit.audited("invitation.cancel", target=audit.of("invitation", "invitation"))
def invitation_cancel(*, invitation: Invitation) -> Invitation:
    """A pending invitation stops working (its link and its referral code)."""
    if not Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=timezone.now()
    ):
        raise Conflict("Only an unused invitation can be cancelled.", code="invalid_status")
    ReferralCode.objects.filter(pk=invitation.referral_code_id).update(is_active=False)
    invitation.refresh_from_db()
    return invitation


def invitation_deliver(*, invitation_id: int) -> None:
    """Worker side of `invitation_create`: the link's secret is made here, stored as its hash
    (replacing a failed attempt's), and mailed; the raw value never reaches the broker."""
    raw = secrets.token_urlsafe(32)
    if not Invitation.objects.filter(_invitation_pending(), pk=invitation_id).update(digest=Invitation.digest_of(raw)):
        return  # cancelled, used or expired since it was queued
    invitation = Invitation.objects.select_related("inviter").get(pk=invitation_id)
    recipient = User(username="", display_name="", email=invitation.email)
    link = emails.absolute_url(f"{reverse('pages:signup')}?{urlencode({'invite': raw})}")
    emails.render(
        emails.INVITATION,
        user=recipient,
        link=link,
        invitation=invitation,
        days=max(1, settings.INVITATIONS_TTL // 86400),
    ).send()


def invitation_used_deliver(*, inviter_id: int, invitation_id: int) -> None:
    """Worker side of `emails.send_invitation_used`: tell the inviter."""
    invitation = Invitation.objects.select_related("invitee").filter(pk=invitation_id).first()
    inviter = User.objects.filter(pk=inviter_id).first()
    if invitation is None or inviter is None or invitation.invitee is None:
        return
    emails.render(emails.INVITATION_USED, user=inviter, invitation=invitation).send()
