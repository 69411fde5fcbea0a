"""Deleting an account, by its owner or by staff: one erasure (README, "Deleting an account").

    member: request (password) ──▶ pending: shut out, websites still up ──cancel link──▶ back
                               │ deletes_at (ACCOUNTS_DELETE_GRACE later)
                               ▼
    finalizer (beat): websites removed through the lane ──▶ `user delete` queued, row deleted,
                      username quarantined (ACCOUNTS_USERNAME_QUARANTINE days)
                               ▲
    staff: `user_delete_by_staff` (admin, DELETE /api/users/<username>): deletes_at = now, shut
           out at once, and the finalizer's first pass runs right away; the next pass runs as
           soon as the last website is removed (`deletion_resume`), the beat's as a fallback.

Staff never delete the row directly: a site's row would go with it (CASCADE) while its app
stayed on YunoHost. `deletion_requested_at` is set only by the owner's request: an account
deleted by staff is not mailed "as you asked".

While pending, the account can do nothing: every token was cut off with the request, login
answers 403 `deletion_pending`, `User.is_active` is false (sessions, the admin). Its websites
and its mailbox keep working until the end, so nothing is lost if the owner changes their mind.

The finalizer takes each due account in its own transaction, with its row locked
(`skip_locked`: two finalizers never work on one account). It tells the apps above
(`signals.user_erasing`, websites listens) to remove what the account owns; while a site is
still being removed (its lane steps run one after the other), the account waits for a later
run. Only then is `user delete` queued, so YunoHost removes the user after its sites' apps.
The row itself is deleted: what an audit trail needs stays elsewhere (the lane's operations,
whose user becomes empty but whose arguments name the account; the audit log's snapshot).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
from accounts import emails, services, signals
from accounts.models import OneTimeToken, User
from accounts.services import one_time_token_check, one_time_token_use, user_save
from blahaj import outbox
from blahaj.errors import ApplicationError, NotFound
from logins import sessions as login_sessions

logger = logging.getLogger("accounts.deletion")  # the name it has always logged under


class NoDeletionPending(ApplicationError):
    status_code = 409
    code = "no_deletion_pending"
    message = gettext_lazy("This account has no deletion pending.")


class StaffSelfDeletion(ApplicationError):
    status_code = 409
    code = "cannot_delete_self"
    message = gettext_lazy("Staff cannot delete their own account: another admin can, once you no longer need it.")


def user_request_deletion(*, user: User, password: str) -> datetime:
    """Schedule the account's deletion ACCOUNTS_DELETE_GRACE from now and mail the cancel link;
    when it will happen.

    Every token dies at once and the account is shut out until then. Asking again while a
    deletion is pending changes nothing but mails the link again (with a fresh token). Staff
    cannot delete themselves (a slip, or a stolen session, would take an admin away).
    """
    services.password_confirmed(user=user, password=password, field="password")
    if user.is_staff:
        raise StaffSelfDeletion()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.deletes_at is None:
            now = timezone.now()
            locked.deletion_requested_at = now
            locked.deletes_at = now + timedelta(seconds=settings.ACCOUNTS_DELETE_GRACE)
            locked.revoke_tokens()
            user_save(locked, fields=["deletion_requested_at", "deletes_at", "tokens_valid_after"], cutoff_moved=True)
            logger.info("Account %s asked to be deleted at %s.", locked.username, locked.deletes_at.isoformat())
        emails.send_deletion_scheduled(user=locked)
    user.deletion_requested_at, user.deletes_at = locked.deletion_requested_at, locked.deletes_at
    return locked.deletes_at


def _cancel(user: User) -> None:
    asked = user.deletion_requested_at is not None  # else staff deleted it: the owner was never told
    user.deletion_requested_at = user.deletes_at = None
    user_save(user, fields=["deletion_requested_at", "deletes_at"])
    OneTimeToken.objects.filter(user=user, purpose=OneTimeToken.Purpose.CANCEL_DELETION).delete()
    if asked:
        emails.send_deletion_cancelled(user=user)


def deletion_cancel_check(*, token: str) -> User:
    """The account a cancel link belongs to, without using it (the page's GET).
    TokenInvalid (400) or TokenExpired (410) otherwise."""
    row = one_time_token_check(raw=token, purpose=OneTimeToken.Purpose.CANCEL_DELETION)
    if not row.user.deletion_pending:
        raise services.TokenInvalid()
    return row.user


@transaction.atomic
def user_cancel_deletion(*, token: str) -> User:
    """Use a cancel link: the account is back to normal (the owner logs in again) and told so.
    Single use; dead once the deletion is due."""
    row = one_time_token_check(raw=token, purpose=OneTimeToken.Purpose.CANCEL_DELETION)
    user = User.objects.select_for_update().get(pk=row.user_id)
    if user.deletes_at is None:
        raise services.TokenInvalid()
    if user.deletes_at <= timezone.now():
        raise services.TokenExpired()
    one_time_token_use(row)
    _cancel(user)
    return user


@transaction.atomic
@audit.audited("user.deletion.cancel", target=audit.of("user", "user", "username"))
def user_cancel_deletion_by_staff(*, user: User, actor: User | None = None) -> User:
    """Staff stop a pending deletion (the admin): the same as the owner's cancel link."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.deletes_at is None:
        raise NoDeletionPending()
    _cancel(locked)
    logger.info("The deletion of %s was cancelled by %s.", locked.username, actor.username if actor else "staff")
    user.deletion_requested_at = user.deletes_at = None
    return locked


# --- Staff delete an account ------------------------------------------------------------------


@transaction.atomic
@audit.audited("user.delete", target=audit.of("user", "user", "username"))
def _user_delete_schedule(*, user: User) -> User:
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:  # erased meanwhile (a second delete racing the first, the beat)
        raise NotFound(_("No such account."))
    services.superuser_keep(user=locked)
    now = timezone.now()
    if locked.deletes_at is None or locked.deletes_at > now:
        locked.deletes_at = now  # due at once (a member's pending deletion too: sooner)
    locked.revoke_tokens()
    user_save(locked, fields=["deletes_at", "tokens_valid_after"], cutoff_moved=True)
    login_sessions.sessions_end_all(user=locked)
    # A cancel link the owner may hold is dead from now on (the deletion is due).
    OneTimeToken.objects.filter(user=locked, purpose=OneTimeToken.Purpose.CANCEL_DELETION).delete()
    return locked


def user_delete_by_staff(*, user: User, actor: User | None = None) -> str:
    """Staff delete an account (the admin, `DELETE /api/users/<username>`): the same erasure as
    a member's, due now. The account is shut out at once (every token and session dies), then
    the finalizer's first pass runs: "deleted" (nothing was waiting: `user delete` is queued and
    the row is gone), or "waiting" (its websites are being removed through the lane; the beat's
    finalizer deletes the row once they are gone). Safe to call again: nothing is queued twice.
    Never `actor`'s own account (409 `cannot_delete_self`), never the last active superuser
    (409 `last_superuser`).
    """
    if actor is not None and actor.pk == user.pk:
        raise StaffSelfDeletion()
    _user_delete_schedule(user=user)
    try:
        outcome = deletion_finalize(user_id=user.pk)
    except Exception:  # the deletion is scheduled: the beat's next run takes it further
        logger.exception("The first pass of the deletion of %s failed; the beat will retry.", user.username)
        return "waiting"
    logger.info("Account %s is being deleted by staff: %s.", user.username, outcome)
    return "waiting" if outcome == "skipped" else outcome


# --- Finalization (Celery beat: accounts.tasks.finalize_deletions) ----------------------------


@dataclass
class FinalizeSummary:
    deleted: list[str]
    waiting: list[str]


def deletion_finalize(*, user_id: int) -> str:
    """Take one due account a step further, in one transaction: "deleted", "waiting" (its
    websites are still being removed), or "skipped" (another finalizer holds it, it was
    cancelled, or it is gone). Safe to run twice, or twice at once."""
    with transaction.atomic():
        user = (
            User.objects.select_for_update(skip_locked=True).filter(pk=user_id, deletes_at__lte=timezone.now()).first()
        )
        if user is None:
            return "skipped"
        answers = signals.user_erasing.send(sender=User, user=user)
        if not all(ready for _, ready in answers):
            return "waiting"
        asked = user.deletion_requested_at is not None
        if asked:
            emails.send_account_deleted(user=user)
        username = user.username
        # Quarantined even without a YunoHost user: nobody else gets this name's mail soon.
        services.username_quarantine(username=username)
        # `user delete` (through the lane, after every earlier step of this user) and the row.
        services.user_erase(user=user)
    logger.info("Account %s deleted (%s).", username, "its owner asked" if asked else "by staff")
    return "deleted"


def deletion_resume(*, user_id: int) -> None:
    """What a due deletion waited for is done (the owner's last website was removed, in the
    lane's transaction): the finalizer takes the account further once it commits, rather than at
    the beat's next run. Nothing for an account whose deletion is not due."""
    if User.objects.filter(pk=user_id, deletes_at__lte=timezone.now()).exists():
        outbox.enqueue("accounts.tasks.finalize_deletion", user_id)


def deletions_finalize() -> FinalizeSummary:
    """The beat's run: every account whose deletion is due, each in its own transaction; then
    the quarantined usernames whose time is over are released."""
    summary = FinalizeSummary(deleted=[], waiting=[])
    due = User.objects.filter(deletes_at__lte=timezone.now()).order_by("deletes_at", "pk")
    for user_id, username in due.values_list("pk", "username"):
        outcome = deletion_finalize(user_id=user_id)
        if outcome == "deleted":
            summary.deleted.append(username)
        elif outcome == "waiting":
            summary.waiting.append(username)
    services.usernames_quarantine_prune()
    return summary
