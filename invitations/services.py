"""Invitations: staff and, with REFERRALS_USER_CODES, members invite an address to sign up.

An invitation is a single-use referral code (owned by the inviter) behind an emailed link. The
sign-up (accounts) asks `invitation_for_signup` for the link's invitation, uses it with
`invitation_claim` and, once the account exists, tells `invitation_accepted`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
import notifications
from blahaj import mail, outbox
from blahaj.errors import ApplicationError, Conflict, Forbidden, ValidationFailed
from tiers import services as tier_services
from tiers.models import ReferralCode, Tier

from .models import Invitation

if TYPE_CHECKING:
    from accounts.models import User

INVITATION = "invitation"  # the emails' templates: templates/emails/invitation*
INVITATION_USED = "invitation_used"

# invitations/tasks.py's tasks, by the names they are registered under.
_SEND_INVITATION = "accounts.tasks.send_invitation"
_SEND_INVITATION_USED = "accounts.tasks.send_invitation_used"


class InvitationInvalid(ApplicationError):
    code = "invitation_invalid"
    message = gettext_lazy("This invitation link is not valid.")


# Plain words for the sign-up page, by the invitation's state.
INVITATION_DEAD = {
    "unknown": gettext_lazy("This invitation link is not valid: it may have been mistyped."),
    "used": gettext_lazy("This invitation has already been used."),
    "cancelled": gettext_lazy("This invitation was cancelled by the person who sent it."),
    "expired": gettext_lazy("This invitation has expired."),
}


def _pending() -> Q:
    return Q(used_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=timezone.now())


def _invalid(fields: dict[str, list[str]]) -> ValidationFailed:
    # Same message rule as blahaj.exception_handler for serializer errors: one field, its own sentence.
    message = next(iter(fields.values()))[0] if len(fields) == 1 else None
    return ValidationFailed(message, fields=fields)


# --- The sign-up's side ------------------------------------------------------------------------


def invitation_for_link(*, raw: str) -> Invitation:
    """The pending invitation of a link (the sign-up page's GET); InvitationInvalid otherwise,
    whose `code` is `invitation_<state>` and `message` says why in plain words."""
    invitation = Invitation.objects.filter(digest=Invitation.digest_of(raw)).first() if raw else None
    state = "unknown" if invitation is None else invitation.state
    if invitation is None or state != "pending":
        raise InvitationInvalid(INVITATION_DEAD[state], code=f"invitation_{state}")
    return invitation


def invitation_for_signup(*, raw: str, email: str) -> Invitation:
    """The pending invitation of a link, for a sign-up with `email` (the invited address only)."""
    invitation = invitation_for_link(raw=raw)
    if invitation.email.lower() != email.lower():
        # The link confirms one address: another one would go unconfirmed.
        raise InvitationInvalid(
            fields={"email": [_("This invitation is for another address: sign up with the invited one.")]}
        )
    return invitation


def invitation_claim(*, invitation: Invitation) -> None:
    """Use the invitation (conditional UPDATE: of two concurrent sign-ups one wins), in the
    sign-up's transaction; the sign-up then takes its referral code, like any referral."""
    if not Invitation.objects.filter(_pending(), pk=invitation.pk).update(used_at=timezone.now()):
        raise InvitationInvalid(INVITATION_DEAD["used"], code="invitation_used")


def invitation_accepted(*, invitation: Invitation, invitee: User) -> None:
    """The invited account exists (in the sign-up's transaction): the invitation records it,
    its code stops working, the inviter is told by email and staff on Discord."""
    Invitation.objects.filter(pk=invitation.pk).update(invitee=invitee)
    ReferralCode.objects.filter(pk=invitation.referral_code_id).update(is_active=False)
    if invitation.inviter_id is not None:
        outbox.enqueue(_SEND_INVITATION_USED, invitation.inviter_id, invitation.pk)
    inviter = invitation.inviter.username if invitation.inviter is not None else "staff"
    notifications.invitation_used(username=invitee.username, inviter=inviter)


# --- Sending and cancelling --------------------------------------------------------------------


def _invitation_cap(inviter: User) -> None:
    cap = Tier.objects.values_list("max_referral_codes", flat=True).get(pk=inviter.tier_id)
    pending = Invitation.objects.filter(_pending(), inviter=inviter).count()
    if pending >= cap:
        raise ApplicationError(
            _("You already have %(count)s pending invitation(s), the most your tier allows.") % {"count": cap},
            code="invitation_limit",
            status_code=429,
        )


def _judge_invitation(invitation: Invitation) -> None:
    try:
        invitation.full_clean(exclude=["referral_code", "expires_at", "inviter", "invitee"])
    except DjangoValidationError as error:
        raise _invalid(error.message_dict) from None


def _new_invitation(*, inviter: User, email: str, note: str, tier: Tier | None) -> Invitation:
    """The unsaved invitation `invitation_create` would save; refused as it would refuse it."""
    if not inviter.is_staff:
        if not settings.REFERRALS_USER_CODES:
            raise Forbidden(_("Members cannot send invitations."), code="permission_denied")
        if tier is not None:
            raise Forbidden(_("Only staff choose an invited account's tier."), code="permission_denied")
        # The inviter's row lock serialises two invitations of one member, so the cap holds.
        get_user_model().objects.select_for_update().only("pk").get(pk=inviter.pk)
        _invitation_cap(inviter)
    address = BaseUserManager.normalize_email(email.strip())
    invitation = Invitation(email=address, note=note.strip(), inviter=inviter)
    _judge_invitation(invitation)
    if get_user_model().objects.filter(email__iexact=address).exists():
        # Whose account it is stays unsaid.
        raise Conflict(_("An account already uses this address."), code="email_taken")
    return invitation


@transaction.atomic
def invitation_create_check(*, inviter: User, email: str, note: str = "", tier: Tier | None = None) -> None:
    """Raise what `invitation_create` would raise for this input, creating nothing (the
    admin's add form shows it next to the fields)."""
    _new_invitation(inviter=inviter, email=email, note=note, tier=tier)


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
    The address has no account, so the email speaks the language of the request that sends it.
    """
    invitation = _new_invitation(inviter=inviter, email=email, note=note, tier=tier)
    now = timezone.now()
    invitation.created_at = now
    invitation.expires_at = now + timedelta(seconds=settings.INVITATIONS_TTL)
    invitation.referral_code = tier_services.referral_code_create(
        owner=inviter, tier=tier, max_uses=1, expires_at=invitation.expires_at, skips_approval=True
    )
    invitation.save()
    outbox.enqueue(_SEND_INVITATION, invitation.pk, translation.get_language() or settings.LANGUAGE_CODE)
    return invitation


@transaction.atomic
@audit.audited("invitation.cancel", target=audit.of("invitation", "invitation"))
def invitation_cancel(*, invitation: Invitation) -> Invitation:
    """A pending invitation stops working (its link and its referral code)."""
    if not Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=timezone.now()
    ):
        raise Conflict(_("Only an unused invitation can be cancelled."), code="invalid_status")
    ReferralCode.objects.filter(pk=invitation.referral_code_id).update(is_active=False)
    invitation.refresh_from_db()
    return invitation


# --- The worker's side ---------------------------------------------------------------------------


def invitation_deliver(*, invitation_id: int, language: str = "") -> None:
    """Worker side of `invitation_create`: the link's secret is made here, stored as its hash
    (replacing a failed attempt's), and mailed in `language` (the sending request's; English if
    empty); the raw value never reaches the broker."""
    raw = secrets.token_urlsafe(32)
    if not Invitation.objects.filter(_pending(), pk=invitation_id).update(digest=Invitation.digest_of(raw)):
        return  # cancelled, used or expired since it was queued
    invitation = Invitation.objects.select_related("inviter").get(pk=invitation_id)
    link = mail.absolute_url(f"{reverse('pages:signup')}?{urlencode({'invite': raw})}")
    mail.render(
        INVITATION,
        to=[invitation.email],
        language=language,
        link=link,
        invitation=invitation,
        days=max(1, settings.INVITATIONS_TTL // 86400),
    ).send()


def invitation_used_deliver(*, inviter_id: int, invitation_id: int) -> None:
    """Worker side of `invitation_accepted`: tell the inviter (and by which new account)."""
    invitation = Invitation.objects.select_related("invitee").filter(pk=invitation_id).first()
    inviter = get_user_model().objects.filter(pk=inviter_id).first()
    if invitation is None or inviter is None or invitation.invitee is None:
        return
    mail.render(INVITATION_USED, to=[inviter.email], user=inviter, invitation=invitation).send()
