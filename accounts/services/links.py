"""One-time links: the tokens of the links we email (confirmation, password reset, a deletion's
cancel link, the second step of a login) and the account emails that carry one."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from blahaj.errors import ApplicationError, Gone

from .. import emails
from ..models import OneTimeToken, User


class TokenInvalid(ApplicationError):
    code = "token_invalid"
    message = gettext_lazy("This link is invalid or has already been used.")


class TokenExpired(Gone):
    code = "token_expired"
    message = gettext_lazy("This link has expired. Ask for a new one.")


_TOKEN_LIFETIME_SETTINGS: dict[str, str] = {
    OneTimeToken.Purpose.CONFIRM: "ACCOUNTS_CONFIRM_TOKEN_LIFETIME",
    OneTimeToken.Purpose.RESET: "ACCOUNTS_RESET_TOKEN_LIFETIME",
    OneTimeToken.Purpose.MFA: "ACCOUNTS_MFA_TOKEN_LIFETIME",
}
# The emails that carry a link, and the purpose of the token in that link.
_LINK_PURPOSES = {
    emails.CONFIRMATION: OneTimeToken.Purpose.CONFIRM,
    emails.PASSWORD_RESET: OneTimeToken.Purpose.RESET,
    emails.SET_PASSWORD: OneTimeToken.Purpose.RESET,
    emails.PASSWORD_REFUSED: OneTimeToken.Purpose.RESET,
    emails.DELETION_SCHEDULED: OneTimeToken.Purpose.CANCEL_DELETION,
}


def one_time_token_issue(*, user: User, purpose: str) -> str:
    """A new link token for `user`; the user's older ones of this purpose die with it."""
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    if purpose == OneTimeToken.Purpose.CANCEL_DELETION:
        # A deletion's cancel link works until the deletion happens.
        expires_at = user.deletes_at or now
    else:
        expires_at = now + timedelta(seconds=getattr(settings, _TOKEN_LIFETIME_SETTINGS[purpose]))
    with transaction.atomic():
        # Serialises two issues for one user, so exactly one token of a purpose stays alive.
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        OneTimeToken.objects.filter(user=user, purpose=purpose).delete()
        OneTimeToken.objects.create(
            user=user,
            purpose=purpose,
            digest=OneTimeToken.digest_of(raw),
            created_at=now,
            expires_at=expires_at,
        )
    return raw


def one_time_token_check(*, raw: str, purpose: str) -> OneTimeToken:
    token = (
        OneTimeToken.objects.select_related("user").filter(digest=OneTimeToken.digest_of(raw), purpose=purpose).first()
    )
    if token is None or token.used_at is not None or token.user.status == User.Status.DISABLED:
        raise TokenInvalid()
    if token.is_expired():
        raise TokenExpired()
    return token


def one_time_token_use(token: OneTimeToken) -> None:
    # Conditional UPDATE: of two concurrent uses, the second updates nothing and loses.
    if not OneTimeToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise TokenInvalid()


def email_deliver_to_user_id(*, kind: str, user_id: int) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return  # deleted since the email was queued
    if kind == emails.CONFIRMATION and user.status != User.Status.PENDING_CONFIRMATION:
        return  # confirmed meanwhile (a late retry): a new link would only confuse
    if kind == emails.DELETION_SCHEDULED and not user.deletion_pending:
        return  # cancelled meanwhile: a cancel link would only confuse
    if kind == emails.PASSWORD_REFUSED and user.status != User.Status.PROVISIONING_FAILED:
        return  # a new password was chosen meanwhile, or staff acted
    email_deliver(kind=kind, user=user)


def email_deliver(*, kind: str, user: User) -> None:
    """Render and send one account email now (in the worker).

    A link's token is issued here, so the raw token never travels through the broker.
    A retry issues a fresh one, which kills the link of the attempt that failed.
    """
    purpose = _LINK_PURPOSES.get(kind)
    link = emails.link_for(kind, one_time_token_issue(user=user, purpose=purpose)) if purpose else None
    emails.render(kind, user=user, link=link).send()
