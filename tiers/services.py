"""Tiers and referral codes: every write goes through here (API, admin, pages alike)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

import audit
from blahaj.errors import Conflict, Forbidden, ValidationFailed

from .models import ReferralCode, Tier
from .signals import tier_limits_changed

TIER_FIELDS = (
    "slug",
    "name",
    "max_websites",
    "custom_domains",
    "mailbox_quota",
    "description",
    "max_referral_codes",
    # The YunoHost server new members of the tier are placed on (fleet/services.py); the
    # admin sets it, the API does not show it.
    "server",
)

# --- Tiers -----------------------------------------------------------------------------------


def _validated(instance: Tier | ReferralCode, *, exclude: list[str] | None = None) -> None:
    try:
        # Constraints are kept by the services (the default flag, unique codes: 409s).
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        fields = error.message_dict
        message = next(iter(fields.values()))[0] if len(fields) == 1 else None
        raise ValidationFailed(message, fields=fields) from None


def _slug_taken(slug: str) -> Conflict:
    return Conflict(_("A tier with the slug %(slug)s already exists.") % {"slug": repr(slug)}, code="slug_taken")


@transaction.atomic
@audit.audited("tier.create", target=lambda kwargs, tier: f"tier:{tier.slug if tier else kwargs.get('slug', '')}")
def tier_create(*, is_default: bool = False, **fields: Any) -> Tier:
    """A new tier (`slug`, `name` and the optional limits of TIER_FIELDS)."""
    tier = Tier(**{name: value for name, value in fields.items() if name in TIER_FIELDS})
    _validated(tier)
    if Tier.objects.filter(slug=tier.slug).exists():
        raise _slug_taken(tier.slug)
    try:
        with transaction.atomic():
            tier.save()
    except IntegrityError:
        raise _slug_taken(tier.slug) from None
    if is_default:
        tier_make_default(tier=tier)
    return tier


@transaction.atomic
@audit.audited(
    "tier.update",
    target=audit.of("tier", "tier", "slug"),
    detail=lambda kwargs, _: "fields: " + ", ".join(sorted(kwargs["data"])),
)
def tier_update(*, tier: Tier, data: dict[str, Any]) -> Tier:
    """Change a tier; its members see the new limits at once (and YunoHost gets the quota).

    `is_default: true` moves the default flag here; `false` on the default tier is refused,
    since there must always be one.
    """
    current = Tier.objects.select_for_update().get(pk=tier.pk)
    if data.get("is_default") is False and current.is_default:
        raise _default_required()
    changed = [name for name in TIER_FIELDS if name in data and data[name] != getattr(current, name)]
    for name in changed:
        setattr(current, name, data[name])
    _validated(current)
    if "slug" in changed and Tier.objects.filter(slug=current.slug).exclude(pk=current.pk).exists():
        raise _slug_taken(current.slug)
    if changed:
        try:
            with transaction.atomic():
                current.save(update_fields=changed)
        except IntegrityError:  # a concurrent create or rename took the slug after the check
            raise _slug_taken(current.slug) from None
        # Signed-in members carry their tier in the auth cache: any change must reach them.
        tier_limits_changed.send(sender=Tier, tier=current, mailbox_quota_changed="mailbox_quota" in changed)
    if data.get("is_default") and not current.is_default:
        tier_make_default(tier=current)
    tier.refresh_from_db()
    return tier


def _default_required() -> Conflict:
    return Conflict(
        _("There must always be a default tier: make another tier the default instead."),
        code="default_tier_required",
    )


@transaction.atomic
@audit.audited("tier.default.set", target=audit.of("tier", "tier", "slug"))
def tier_make_default(*, tier: Tier) -> Tier:
    """Move the default flag to `tier`, in one transaction.

    Every tier row is locked (there are a handful), in id order so two concurrent moves take
    turns instead of deadlocking; the old flag goes first, as the partial unique index
    `one_default_tier` never allows two.
    """
    list(Tier.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
    Tier.objects.filter(is_default=True).exclude(pk=tier.pk).update(is_default=False)
    Tier.objects.filter(pk=tier.pk).update(is_default=True)
    tier.is_default = True
    return tier


def tier_delete_refusal(*, tier: Tier) -> Conflict | None:
    """Why `tier` cannot be deleted now (None: it can); counted, never listed."""
    if tier.is_default:
        return Conflict(
            _("The default tier cannot be deleted: make another tier the default first."),
            code="default_tier_required",
        )
    if users := tier.users.count():
        return Conflict(
            ngettext(
                "%(count)s user is on the tier %(slug)s: move them to another tier first.",
                "%(count)s users are on the tier %(slug)s: move them to another tier first.",
                users,
            )
            % {"count": users, "slug": repr(tier.slug)},
            code="tier_in_use",
        )
    if codes := ReferralCode.objects.filter(tier=tier).count():
        return Conflict(
            ngettext(
                "%(count)s referral code(s) give the tier %(slug)s: change or delete them first.",
                "%(count)s referral code(s) give the tier %(slug)s: change or delete them first.",
                codes,
            )
            % {"count": codes, "slug": repr(tier.slug)},
            code="tier_in_use",
        )
    return None


@transaction.atomic
@audit.audited("tier.delete", target=audit.of("tier", "tier", "slug"))
def tier_delete(*, tier: Tier) -> None:
    """Delete an unused tier; refused (409) while it is the default or anything points to it."""
    current = Tier.objects.select_for_update().filter(pk=tier.pk).first()
    if current is None:
        return
    if refusal := tier_delete_refusal(tier=current):
        raise refusal
    current.delete()


# --- Referral codes --------------------------------------------------------------------------

# Upper case without look-alikes (0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B, 9/g, U/V), so a code read
# aloud or copied from paper comes out right. 20 symbols, 10 of them: about 43 bits.
CODE_ALPHABET = "3467ACEFGHJKMNPRTWXY"
CODE_LENGTH = 10
REFERRAL_FIELDS = ("code", "tier", "max_uses", "expires_at", "owner", "is_active", "skips_approval")


def referral_code_generate() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _code_taken(code: str) -> Conflict:
    return Conflict(_("The referral code %(code)s is already taken.") % {"code": repr(code)}, code="code_taken")


def _save_new_code(referral_code: ReferralCode, *, generated: bool) -> ReferralCode:
    for _attempt in range(5):
        if not ReferralCode.objects.filter(code=referral_code.code).exists():
            try:
                with transaction.atomic():
                    referral_code.save()
                return referral_code
            except IntegrityError:
                pass  # a concurrent create took it between the check and the insert
        if not generated:
            raise _code_taken(referral_code.code)
        referral_code.code = referral_code_generate()
    raise Conflict(_("Could not find a free referral code; please try again."), code="code_taken")


@transaction.atomic
# Named by id: a code is a privilege, the log shows no more of it than staff need.
@audit.audited(
    "referral_code.create",
    target=lambda _, code: f"referral_code:{code.pk if code else 'new'}",
    detail=lambda kwargs, code: f"tier {code.tier.slug}" if code.tier_id else "",
)
def referral_code_create(
    *,
    code: str = "",
    tier: Tier | None = None,
    max_uses: int | None = None,
    expires_at: datetime | None = None,
    owner: Any = None,
    is_active: bool = True,
    skips_approval: bool = False,
) -> ReferralCode:
    """A new code; one is generated when `code` is empty. 409 `code_taken` if it exists."""
    referral_code = ReferralCode(
        code=code or referral_code_generate(),
        tier=tier,
        max_uses=max_uses,
        expires_at=expires_at,
        owner=owner,
        is_active=is_active,
        skips_approval=skips_approval,
    )
    _validated(referral_code, exclude=["uses"])
    return _save_new_code(referral_code, generated=not code)


@transaction.atomic
def referral_code_create_for_member(
    *, user: Any, max_uses: int | None = None, expires_at: datetime | None = None
) -> ReferralCode:
    """A member's own code (REFERRALS_USER_CODES): generated, owned by them, no tier or
    approval privilege, and at most their tier's `max_referral_codes` active ones."""
    if not settings.REFERRALS_USER_CODES:
        raise Forbidden(_("Members cannot create referral codes."), code="permission_denied")
    # The user's row lock serialises two creates of one member, so the cap holds.
    type(user).objects.select_for_update().only("pk").get(pk=user.pk)
    cap = Tier.objects.values_list("max_referral_codes", flat=True).get(pk=user.tier_id)
    if ReferralCode.objects.filter(owner_id=user.pk, is_active=True).count() >= cap:
        raise Conflict(
            ngettext(
                "You already have %(cap)s active referral code(s), the most your tier allows.",
                "You already have %(cap)s active referral code(s), the most your tier allows.",
                cap,
            )
            % {"cap": cap},
            code="referral_code_limit",
        )
    return referral_code_create(owner=user, max_uses=max_uses, expires_at=expires_at)


@transaction.atomic
@audit.audited(
    "referral_code.update",
    target=audit.of("referral_code", "referral_code"),
    detail=lambda kwargs, _: "fields: " + ", ".join(sorted(kwargs["data"])),
)
def referral_code_update(*, referral_code: ReferralCode, data: dict[str, Any]) -> ReferralCode:
    """Change a code; `uses` is counted by sign-ups only."""
    current = ReferralCode.objects.select_for_update().get(pk=referral_code.pk)
    for name in REFERRAL_FIELDS:
        if name in data:
            setattr(current, name, data[name])
    _validated(current, exclude=["uses"])
    if ReferralCode.objects.filter(code=current.code).exclude(pk=current.pk).exists():
        raise _code_taken(current.code)
    try:
        with transaction.atomic():
            current.save(update_fields=[name for name in REFERRAL_FIELDS if name in data] or None)
    except IntegrityError:
        raise _code_taken(current.code) from None
    return current


@transaction.atomic
@audit.audited("referral_code.delete", target=audit.of("referral_code", "referral_code"))
def referral_code_delete(*, referral_code: ReferralCode) -> None:
    """Delete an unused code; a used one records who referred whom, so it is deactivated instead."""
    if referral_code.referred_users.exists():
        raise Conflict(
            _("This code has been used: it records who referred whom. Deactivate it instead."),
            code="code_in_use",
        )
    if ReferralCode.objects.filter(pk=referral_code.pk, invitation__isnull=False).exists():
        raise Conflict(_("This code belongs to an invitation: cancel the invitation instead."), code="code_in_use")
    referral_code.delete()


@audit.audited(
    "referral_code.deactivate",
    target=lambda _, __: "referral_codes",
    detail=lambda _, count: f"{count} deactivated",
)
def referral_codes_deactivate(*, referral_codes: QuerySet[ReferralCode]) -> int:
    return referral_codes.filter(is_active=True).update(is_active=False)
