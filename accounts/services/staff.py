"""Staff administration shared by the admin (staff/admin.py), the staff API (staff/) and the
legacy routes' account creation (legacy/): here, below both, since those two never import each
other. What only the staff's doors need is in staff/services.py."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from blahaj.errors import Conflict
from provisioning.models import Operation, Server
from tiers.models import Tier

from .. import emails, signals
from .. import yunohost as lane
from ..models import User
from ..validators import normalize_email
from .lifecycle import user_begin_provisioning, user_erase
from .records import _USER, _user_move, email_in_use, user_judge, user_save, username_lower_case
from .registration import _taken_on_yunohost, user_taken

logger = logging.getLogger(__name__)


def _new_staff_user(*, username: str, display_name: str, email: str, discord_username: str, tier: Tier | None) -> User:
    """The unsaved account `user_create_by_staff` would create; refused as it would refuse it."""
    user = User(
        username=username_lower_case(username.strip()),
        display_name=display_name.strip(),
        email=normalize_email(email.strip()),
        discord_username=discord_username.strip().lower(),
        tier_id=tier.pk if tier is not None else User.objects.default_tier_id(),
        confirmed_at=timezone.now(),
    )
    user_judge(user, fields=["username", "display_name", "email", "discord_username"])
    if conflict := user_taken(user) or _taken_on_yunohost(user):
        raise Conflict(_("Email already in use"), code="email_taken") if conflict.code == "email_taken" else conflict
    return user


def user_create_by_staff_check(
    *, username: str, display_name: str, email: str, discord_username: str = "", tier: Tier | None = None
) -> None:
    """Raise what `user_create_by_staff` would raise for this input, creating nothing (the
    admin's add form shows it next to the fields)."""
    _new_staff_user(
        username=username, display_name=display_name, email=email, discord_username=discord_username, tier=tier
    )


@transaction.atomic
@audit.audited(
    "user.create",
    target=lambda kwargs, user: f"user:{user.username if user else kwargs['username'].strip()}",
    detail=lambda _, user: f"tier {user.tier.slug}",
)
def user_create_by_staff(
    *,
    username: str,
    display_name: str,
    email: str,
    discord_username: str = "",
    tier: Tier | None = None,
    actor: User | None = None,
    server: Server | None = None,
) -> User:
    """Create a confirmed account on staff's word: provisioning starts at once (on `server`,
    else where the placement rule puts it), and the owner gets a one-time link to choose the
    password.

    No password exists until then: the YunoHost account is created with a random one (the
    lane's rule for an account without a sign-up password), replaced when the owner picks one.
    Approval does not apply: staff created it. Neither does the public sign-up limit.
    """
    user = _new_staff_user(
        username=username, display_name=display_name, email=email, discord_username=discord_username, tier=tier
    )
    user.set_unusable_password()
    user.server = server
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise user_taken(user) or Conflict(_("Please try again."), code="conflict") from None
    # Queued first, so sent first: the welcome ("your account is ready") follows the lane's
    # outcome, and must not arrive before the link it tells the owner to use.
    emails.send_set_password(user=user)
    user_begin_provisioning(user=user)
    logger.info("Account %s created by %s.", user.username, actor.username if actor else "staff")
    return user


@audit.audited(
    "user.update",
    target=_USER,
    detail=lambda kwargs, _: (
        "fields: " + ", ".join(sorted(k for k, v in kwargs.items() if k != "user" and v is not None))
    ),
)
def user_update(
    *,
    user: User,
    display_name: str | None = None,
    email: str | None = None,
    discord_username: str | None = None,
) -> User:
    """Change the profile fields given (None: unchanged), judged like at sign-up."""
    changes = {
        "display_name": None if display_name is None else display_name.strip(),
        "email": None if email is None else normalize_email(email.strip()),
        "discord_username": None if discord_username is None else discord_username.strip().lower(),
    }
    changed = [name for name, value in changes.items() if value is not None and value != getattr(user, name)]
    if not changed:
        return user
    for name in changed:
        setattr(user, name, changes[name])
    user_judge(user, fields=changed)
    if "email" in changed and (conflict := email_in_use(user)):
        raise conflict
    try:
        with transaction.atomic():
            user_save(user, fields=changed)
            if "display_name" in changed:
                lane.account_set_fullname(user=user)
    except IntegrityError:
        raise email_in_use(user) or Conflict(_("Please try again."), code="conflict") from None
    return user


def _status_before_disable(user: User) -> str:
    """What a disabled account was, from what the lane did for it (the status is not kept)."""
    created = (
        Operation.objects.filter(user=user, kind=Operation.Kind.USER_CREATE)
        .order_by("-id")
        .values_list("status", flat=True)
        .first()
    )
    if created == Operation.Status.SUCCEEDED:
        return User.Status.ACTIVE
    if created == Operation.Status.FAILED:
        return User.Status.PROVISIONING_FAILED
    if created is not None:
        return User.Status.PROVISIONING
    if user.confirmed_at is None:
        return User.Status.PENDING_CONFIRMATION
    # A sign-up keeps its encrypted password until YunoHost has it: it was waiting for approval.
    # Without one and without any operation, the account came from YunoHost (yunohost_import).
    return User.Status.PENDING_APPROVAL if user.pending_password else User.Status.ACTIVE


@transaction.atomic
@audit.audited("user.enable", target=_USER)
def user_enable(*, user: User) -> User:
    """Undo `user_disable`: the account gets back the status its history says it had.

    Its YunoHost password was scrambled when it was disabled: the owner gets a reset link,
    and the password they choose is set here and on YunoHost alike.
    """
    _user_move(user, from_statuses=(User.Status.DISABLED,), to=_status_before_disable(user))
    if lane.account_has_user(user=user):
        emails.send_password_reset(user=user)
    signals.user_enabled.send(sender=User, user=user)
    return user


@audit.audited("user.password_reset.send", target=_USER)
def user_send_password_reset(*, user: User) -> None:
    """Staff send the owner a reset link (queued)."""
    if user.status == User.Status.DISABLED:
        raise Conflict(_("A disabled account cannot reset its password."), code="account_disabled")
    emails.send_password_reset(user=user)


@transaction.atomic
@audit.audited("user.reject", target=_USER)
def user_reject(*, user: User, reason: str = "") -> None:
    """Staff turn a sign-up down (approval mode): the applicant is told, the account deleted.

    Deleted rather than kept in some status: the name and address are free again, and we keep
    no data about someone who never got an account. Nothing exists on YunoHost yet.
    """
    current = User.objects.select_for_update().values_list("status", flat=True).get(pk=user.pk)
    if current != User.Status.PENDING_APPROVAL:
        raise Conflict(_("Only an account waiting for approval can be rejected."), code="invalid_status")
    emails.send_rejected(user=user, reason=reason.strip())
    user_erase(user=user)


def email_deliver_detached(*, kind: str, recipient: dict[str, str], reason: str = "") -> None:
    """Worker side of an email about an account that no longer exists (`send_rejected`), in the
    language the account had (English for a message queued before the recipient carried it)."""
    person = User(
        username=recipient["username"],
        display_name=recipient["display_name"],
        email=recipient["email"],
        language=recipient.get("language", ""),
    )
    emails.render(kind, user=person, reason=reason).send()
