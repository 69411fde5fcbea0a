"""A signed-in member's own account: the password, the email address (a link to the new one
confirms it, the old one gets an undo link), the login sessions.

The account's row is the accounts app's: its password goes through `user_set_password`, the
address through the same row helpers every accounts flow uses (accounts/services/records.py).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import emails
from accounts.models import User
from accounts.services import (
    TokenExpired,
    TokenInvalid,
    email_in_use,
    password_confirmed,
    password_validation_errors,
    user_judge,
    user_save,
    user_set_password,
    validation_failed,
)
from accounts.validators import normalize_email
from blahaj import crypto, mail, outbox
from blahaj.errors import Conflict, ValidationFailed
from defences import services as defences
from logins import sessions as login_sessions
from logins import tokens
from logins.models import LoginSession

from .models import EmailChange

EMAIL_CHANGE = "email_change"  # to the new address: the confirmation link
EMAIL_CHANGED = "email_changed"  # to the old address: the undo link


class PasswordTooWeak(ValidationFailed):
    code = "password_too_weak"
    message = gettext_lazy("This password is too weak.")


def sessions_list(*, user: User) -> list[LoginSession]:
    """The member's live login sessions, most recently used first."""
    return list(login_sessions.sessions_alive(user=user))


def session_end(*, user: User, session_id: str) -> None:
    """End one of the member's sessions (NotFound for anyone else's, or an ended one)."""
    with transaction.atomic():
        login_sessions.session_end(user=user, session_id=session_id)


def user_change_password(
    *,
    user: User,
    current_password: str,
    new_password: str,
    session_id: str | None = None,
    factors: tuple[str, ...] = tokens.PASSWORD_ONLY,
) -> dict[str, Any]:
    """A signed-in member changes their password: here and on YunoHost (the lane), every
    other session ends, the owner is told by email.

    Every token issued before now dies (the cut-off moves), the caller's too: when the caller
    signed in with tokens (`session_id` of an API session), the answer is a fresh access and
    refresh token of the same session; otherwise (a page session, or a token without `sid`)
    an empty dict. The fresh tokens keep the caller's `factors` (a second factor stays proven).
    """
    fresh = password_confirmed(user=user, password=current_password, field="current_password")
    if password_errors := password_validation_errors(user=fresh, password=new_password):
        raise PasswordTooWeak(password_errors[0], fields={"new_password": password_errors})
    kept = (
        LoginSession.objects.filter(public_id=session_id, user=fresh, ended_at__isnull=True).first()
        if session_id and login_sessions.parse_id(session_id)
        else None
    )
    with transaction.atomic():
        user_set_password(user=fresh, password=new_password, keep_session=str(kept.public_id) if kept else None)
        if fresh.pending_password:
            # Not on YunoHost yet: the account will be created with the new password.
            fresh.pending_password = crypto.encrypt(new_password)
            fresh.save(update_fields=["pending_password"])
        emails.send_password_changed(user=fresh)
    if kept is not None and kept.kind == LoginSession.Kind.API:
        return tokens.issue_for_user(fresh, session_id=str(kept.public_id), factors=factors)
    return {}


def _email_change_lifetime() -> timedelta:
    return timedelta(seconds=settings.ACCOUNTS_EMAIL_CHANGE_LIFETIME)


def user_request_email_change(*, user: User, email: str, password: str, screen: Any = None) -> EmailChange:
    """A signed-in member asks to use another address: the password is checked (counted like
    a login's), the address judged like at sign-up (`screen`: the sign-up's email-domain
    check, defences.services), and a link to the new address confirms it
    (ACCOUNTS_EMAIL_CHANGE_LIFETIME). The address stays the old one until then. An address
    any account uses is a 409 that does not say whose.
    """
    fresh = password_confirmed(user=user, password=password, field="password")
    address = normalize_email(email.strip())
    if address.lower() == fresh.email.lower():
        raise validation_failed({"email": [_("This already is your address.")]})
    candidate = User(username=fresh.username, display_name=fresh.display_name, email=address)
    user_judge(candidate, fields=["email"])
    if screen is not None:
        screen(email=address)
    if User.objects.filter(email__iexact=address).exists():
        raise Conflict(_("An account already uses this address."), code="email_taken")
    now = timezone.now()
    with transaction.atomic():
        # One pending change at a time: a new request kills the older link.
        EmailChange.objects.filter(user=fresh, confirmed_at__isnull=True).delete()
        change = EmailChange.objects.create(
            user=fresh,
            new_email=address,
            old_email=fresh.email,
            created_at=now,
            expires_at=now + _email_change_lifetime(),
        )
        outbox.enqueue("accounts.tasks.send_email_change", change.pk)
    return change


def user_request_email_change_screened(*, user: User, email: str, password: str) -> EmailChange:
    """`user_request_email_change` behind the sign-up's email-domain check (the pages and the API)."""
    return user_request_email_change(user=user, email=email, password=password, screen=defences.email_domain_screen)


def email_change_deliver(*, change_id: int) -> None:
    """Worker side of `user_request_email_change`: the link's secret is made here, stored as
    its hash, and mailed to the new address."""
    raw = secrets.token_urlsafe(32)
    pending = EmailChange.objects.filter(pk=change_id, confirmed_at__isnull=True, expires_at__gt=timezone.now())
    if not pending.update(digest=EmailChange.digest_of(raw)):
        return  # replaced, used or expired since it was queued
    change = EmailChange.objects.select_related("user").get(pk=change_id)
    recipient = _addressed(change, change.new_email)
    link = mail.absolute_url(reverse("account:email-confirm", args=[raw]))
    emails.render(EMAIL_CHANGE, user=recipient, link=link, change=change, hours=_hours()).send()


def _addressed(change: EmailChange, email: str) -> User:
    """The account as an email to `email` sees it (its names and language), without touching
    its row: the change is not made yet, or is made already."""
    user = change.user
    return User(username=user.username, display_name=user.display_name, email=email, language=user.language)


def _hours() -> int:
    return max(1, settings.ACCOUNTS_EMAIL_CHANGE_LIFETIME // 3600)


def _email_change_by(digest_field: str, raw: str, *, lock: bool = False) -> EmailChange:
    rows = EmailChange.objects.select_related("user")
    if lock:
        rows = rows.select_for_update(of=("self",))
    change = rows.filter(**{digest_field: EmailChange.digest_of(raw)}).first() if raw else None
    if change is None or change.user.status == User.Status.DISABLED:
        raise TokenInvalid()
    return change


def _confirmable_change(token: str, *, lock: bool = False) -> EmailChange:
    change = _email_change_by("digest", token, lock=lock)
    if change.confirmed_at is not None:
        raise TokenInvalid()
    if change.expires_at <= timezone.now():
        raise TokenExpired()
    return change


def _undoable_change(token: str, *, lock: bool = False) -> EmailChange:
    change = _email_change_by("undo_digest", token, lock=lock)
    if change.undone_at is not None or change.undo_expires_at is None:
        raise TokenInvalid()
    if change.undo_expires_at <= timezone.now():
        raise TokenExpired()
    return change


def email_change_for_link(*, token: str) -> EmailChange:
    """The pending change a confirmation link belongs to, without using it (the page's GET)."""
    return _confirmable_change(token)


@transaction.atomic
def user_confirm_email_change(*, token: str) -> User:
    """Use a confirmation link: the account's address becomes the new one, and the old address
    gets an undo link (ACCOUNTS_EMAIL_CHANGE_LIFETIME). 409 `email_taken` if another account
    took the address meanwhile (the link then stays usable)."""
    change = _confirmable_change(token, lock=True)
    user = User.objects.select_for_update().get(pk=change.user_id)
    if user.email.lower() != change.old_email.lower():
        raise TokenInvalid()  # the address was changed another way since the request
    user.email = change.new_email
    # A new, confirmed address: whatever bounced before was the old one.
    user.email_undeliverable_at, user.email_undeliverable_reason = None, ""
    if conflict := email_in_use(user):
        raise Conflict(_("An account already uses this address."), code=conflict.code)
    try:
        with transaction.atomic():
            user_save(user, fields=["email", "email_undeliverable_at", "email_undeliverable_reason"])
    except IntegrityError:
        raise Conflict(_("An account already uses this address."), code="email_taken") from None
    now = timezone.now()
    EmailChange.objects.filter(pk=change.pk).update(
        confirmed_at=now, digest=None, undo_expires_at=now + _email_change_lifetime()
    )
    outbox.enqueue("accounts.tasks.send_email_change_undo", change.pk)
    return user


def email_change_undo_deliver(*, change_id: int) -> None:
    """Worker side of `user_confirm_email_change`: tell the old address, with an undo link."""
    raw = secrets.token_urlsafe(32)
    undoable = EmailChange.objects.filter(
        pk=change_id, confirmed_at__isnull=False, undone_at__isnull=True, undo_expires_at__gt=timezone.now()
    )
    if not undoable.update(undo_digest=EmailChange.digest_of(raw)):
        return
    change = EmailChange.objects.select_related("user").get(pk=change_id)
    recipient = _addressed(change, change.old_email)
    link = mail.absolute_url(reverse("account:email-undo", args=[raw]))
    emails.render(EMAIL_CHANGED, user=recipient, link=link, change=change, hours=_hours()).send()


def email_change_for_undo_link(*, token: str) -> EmailChange:
    """The change an undo link belongs to, without using it (the page's GET)."""
    return _undoable_change(token)


@transaction.atomic
def user_undo_email_change(*, token: str) -> User:
    """Use an undo link: the old address comes back and, since the change may have been
    someone else's doing, every session and token of the account ends."""
    change = _undoable_change(token, lock=True)
    user = User.objects.select_for_update().get(pk=change.user_id)
    user.email = change.old_email
    if email_in_use(user):
        raise Conflict(_("Another account uses that address now."), code="email_taken")
    user.revoke_tokens()
    try:
        with transaction.atomic():
            user_save(user, fields=["email", "tokens_valid_after"], cutoff_moved=True)
    except IntegrityError:
        raise Conflict(_("Another account uses that address now."), code="email_taken") from None
    login_sessions.sessions_end_all(user=user)
    EmailChange.objects.filter(pk=change.pk).update(undone_at=timezone.now(), undo_digest=None)
    EmailChange.objects.filter(user=user, confirmed_at__isnull=True).delete()
    return user


def email_changes_prune() -> int:
    """Delete email changes whose links are all dead since ACCOUNTS_SESSION_RETENTION."""
    before = timezone.now() - timedelta(seconds=settings.ACCOUNTS_SESSION_RETENTION)
    dead = EmailChange.objects.filter(confirmed_at__isnull=True, expires_at__lt=before) | EmailChange.objects.filter(
        undo_expires_at__lt=before
    )
    deleted, _ = dead.delete()
    return deleted
