"""Tiers: moving a member to another tier, a tier's change reaching its members (and their quota
on YunoHost), and taking a use of the referral code that picks a sign-up's tier."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from blahaj.errors import ApplicationError
from invitations.models import Invitation
from logins import tokens
from tiers.models import ReferralCode, Tier

from .. import yunohost as lane
from ..models import User
from .records import _USER

# Accounts that have, or are about to have, a YunoHost user: a quota change must reach them.
# Earlier ones get their tier's quota when their `user create` is queued.
_ON_YUNOHOST = (User.Status.PROVISIONING, User.Status.ACTIVE, User.Status.DISABLED)
TIER_BATCH = 1000


def _queue_quota_updates(members: list[tuple[int, str]], quota: str) -> None:
    lane.accounts_set_quota(members=members, quota=quota)


def tier_members_refresh(*, tier: Tier, mailbox_quota_changed: bool) -> None:
    """A tier changed (in the caller's transaction): its members' cached copies go once it
    commits, and YunoHost gets the new quota, one bulk INSERT per TIER_BATCH members."""
    members = list(User.objects.filter(tier=tier).order_by("pk").values_list("pk", "username", "status"))
    ids = [pk for pk, _, _ in members]
    transaction.on_commit(lambda: tokens.forget_users(ids, chunk=TIER_BATCH))
    if not mailbox_quota_changed:
        return
    on_yunohost = [(pk, username) for pk, username, status in members if status in _ON_YUNOHOST]
    for start in range(0, len(on_yunohost), TIER_BATCH):
        _queue_quota_updates(on_yunohost[start : start + TIER_BATCH], tier.mailbox_quota)


@transaction.atomic
@audit.audited("user.tier.set", target=_USER, detail=lambda kwargs, _: f"tier {kwargs['tier'].slug}")
def user_set_tier(*, user: User, tier: Tier) -> User:
    """Move a member to `tier`: its limits apply at once, and its quota on YunoHost."""
    current = User.objects.select_for_update().select_related("tier").get(pk=user.pk)
    user.tier = tier
    if current.tier_id == tier.pk:
        return user
    User.objects.filter(pk=user.pk).update(tier=tier)
    transaction.on_commit(lambda: tokens.forget_user(user.pk))
    if current.tier.mailbox_quota != tier.mailbox_quota and current.status in _ON_YUNOHOST:
        _queue_quota_updates([(current.pk, current.username)], tier.mailbox_quota)
    return user


def _referral_code_claim(code: str, *, public: bool = False) -> tuple[int, int]:
    """Take one use of `code`; its id, and the id of its tier (or of the default tier).

    `public`: the code was typed into a sign-up form, where an invitation's code (its link's
    privilege) does not work. Checked apart from the UPDATE: a join would make it an
    `id IN (subquery)`, whose conditions PostgreSQL does not re-check after waiting for a
    concurrent claim's row lock.
    """
    now = timezone.now()
    if public and Invitation.objects.filter(referral_code__code=code).exists():
        raise ApplicationError(_("This referral code is invalid, expired or used up."), code="referral_code_invalid")
    usable = (
        ReferralCode.objects.filter(code=code, is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
    )
    # Active, unexpired, not used up: checked and taken in one conditional UPDATE, so two
    # sign-ups can't both take the last use, and the caller's rollback (a 409) gives it back.
    if not usable.update(uses=F("uses") + 1):
        raise ApplicationError(_("This referral code is invalid, expired or used up."), code="referral_code_invalid")
    code_id, tier_id = ReferralCode.objects.values_list("pk", "tier_id").get(code=code)
    return code_id, tier_id or User.objects.default_tier_id()
