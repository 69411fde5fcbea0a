"""An account's life: provisioning begins, its password is set, it is
disabled, given roles, erased; a deleted account's username stays in quarantine; the hourly
prune of what an account leaves behind."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

import audit
from blahaj.errors import Conflict
from logins import sessions as login_sessions
from notices import services as notice_services

from .. import hooks, signals
from .. import yunohost as lane
from ..models import User, UsernameQuarantine
from .records import _USER, _user_forget_after_commit, _user_move, user_save


@transaction.atomic
@audit.audited("user.password.set", target=_USER)
def user_set_password(*, user: User, password: str, keep_session: str | None = None) -> None:
    """Change the password here and on YunoHost; every earlier token stops working, and
    every login session but `keep_session` ends.

    `User.set_password` moves the token cut-off forward.
    """
    user.set_password(password)
    user_save(user, fields=["password", "tokens_valid_after"], cutoff_moved=True)
    login_sessions.sessions_end_all(user=user, keep=keep_session)
    lane.account_set_password(user=user, password=password)


@transaction.atomic
@audit.audited("user.erase", target=_USER)
def user_erase(*, user: User) -> None:
    """The last step of an erasure: delete the row here and queue `yunohost user delete`
    (home and mail too).

    Not a door of its own: staff and members delete an account through deletion/services.py,
    whose finalizer removes the websites first and calls this last; a rejected sign-up (nothing
    on YunoHost, no site) calls it directly. The operation carries the username, so it runs
    after the row is gone. An account that had (or was getting) a YunoHost user leaves its
    username in quarantine: its mail address stays nobody's for ACCOUNTS_USERNAME_QUARANTINE days.
    """
    user_id = user.pk
    if lane.account_delete(user=user) is not None:
        username_quarantine(username=user.username)
    user.delete()
    _user_forget_after_commit(user_id)


class LastSuperuser(Conflict):
    code = "last_superuser"
    message = gettext_lazy("This is the last active superuser: make another account a superuser first.")


def superuser_keep(*, user: User) -> None:
    """Refuse (409 `last_superuser`) what would leave no active superuser: called before `user`
    is deleted, disabled, demoted or made a service account, in the caller's transaction.

    The live superusers' rows stay locked until that transaction ends, so two admins taking
    each other's role at once cannot both pass.
    """
    if not user.is_superuser:
        return
    with transaction.atomic():
        live = list(
            User.objects.select_for_update()
            .filter(is_superuser=True, is_staff=True, deletes_at__isnull=True)
            .exclude(status=User.Status.DISABLED)
            .values_list("pk", flat=True)
        )
    if not set(live) - {user.pk}:
        raise LastSuperuser()


@transaction.atomic
@audit.audited("user.disable", target=_USER)
def user_disable(*, user: User) -> None:
    """The account can no longer log in, and every token it holds dies.

    YunoHost has no "disabled" flag: its user gets a fresh random password nobody knows
    (`user update`, through the lane), so mail, SSO and SFTP logins stop there too.
    `user_enable` mails the owner a reset link to choose a new password on both sides.
    Never the last active superuser.
    """
    superuser_keep(user=user)
    user.status = User.Status.DISABLED
    user.revoke_tokens()
    user_save(user, fields=["status", "tokens_valid_after"], cutoff_moved=True)
    login_sessions.sessions_end_all(user=user)
    lane.account_lock(user=user)
    signals.user_disabled.send(sender=User, user=user)


@transaction.atomic
@audit.audited(
    "user.roles.set",
    target=_USER,
    detail=lambda kwargs, _: f"is_staff={kwargs['is_staff']}, is_superuser={kwargs['is_superuser']}",
)
def user_set_roles(*, user: User, is_staff: bool, is_superuser: bool) -> None:
    """Staff status and superuser status, as the admin's change form sets them; the last
    active superuser keeps both."""
    if not (is_staff and is_superuser):
        superuser_keep(user=user)
    user.is_staff, user.is_superuser = is_staff, is_superuser
    user_save(user, fields=["is_staff", "is_superuser"])


def username_quarantine(*, username: str) -> UsernameQuarantine:
    """Reserve a deleted account's username for ACCOUNTS_USERNAME_QUARANTINE days (in the
    caller's transaction); a name already reserved gets the later end."""
    until = timezone.now() + timedelta(days=settings.ACCOUNTS_USERNAME_QUARANTINE)
    row, _ = UsernameQuarantine.objects.update_or_create(username=username, defaults={"reserved_until": until})
    return row


def username_quarantined(username: str) -> bool:
    return UsernameQuarantine.objects.filter(username=username, reserved_until__gt=timezone.now()).exists()


def usernames_quarantine_prune() -> int:
    """Forget the reservations whose time is over; how many."""
    deleted, _ = UsernameQuarantine.objects.filter(reserved_until__lte=timezone.now()).delete()
    return deleted


def sessions_prune() -> int:
    """Periodic clean-up (Celery beat): old ended sessions, staff notices sent long ago and what
    the apps above registered (accounts.hooks: the dead email changes), all older than
    ACCOUNTS_SESSION_RETENTION."""
    pruned = login_sessions.sessions_prune() + notice_services.staff_notices_prune()
    return pruned + sum(prune() for prune in hooks.prunes())


@transaction.atomic
def user_begin_provisioning(*, user: User) -> None:
    """Status `provisioning` and the YunoHost `user create`, in one transaction."""
    _user_move(
        user,
        from_statuses=(User.Status.PENDING_CONFIRMATION, User.Status.PENDING_APPROVAL),
        to=User.Status.PROVISIONING,
    )
    lane.account_create(user=user)
