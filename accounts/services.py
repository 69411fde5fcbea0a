"""Account business logic. Views, pages, the admin and tasks all call these functions."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from blahaj.api import ApplicationError, Forbidden, TooManyAttempts
from rest_framework_simplejwt.exceptions import InvalidToken

from . import tokens
from .models import User

# --- Login and tokens ----------------------------------------------------------------------

_FAILURES_KEY = "login:failures:{ident}"
_LOCK_KEY = "login:locked:{ident}"
_INACTIVE_ANSWERS = {
    User.Status.PENDING_CONFIRMATION: (
        "email_unconfirmed",
        "Please confirm your email address first: we sent you a link.",
    ),
    User.Status.PENDING_APPROVAL: (
        "approval_pending",
        "Your account is waiting for a staff member's approval.",
    ),
    User.Status.DISABLED: ("account_disabled", "This account has been disabled."),
}


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"
    message = "Invalid username or password."


def _find_login_user(identifier: str) -> User | None:
    identifier = identifier.strip()
    if "@" in identifier:
        return User.objects.filter(email__iexact=identifier).select_related("tier").first()
    return User.objects.filter(username=identifier.lower()).select_related("tier").first()


def _lockout_ident(identifier: str, user: User | None) -> str:
    # Keyed on the account when there is one, so that its username and its email share one
    # budget of attempts; otherwise on what was typed.
    return f"user:{user.pk}" if user is not None else f"name:{identifier.strip().lower()}"


def _check_lockout(ident: str) -> None:
    locked_until = cache.get(_LOCK_KEY.format(ident=ident))
    if locked_until is not None and locked_until > time.time():
        raise TooManyAttempts(
            retry_after=max(1, int(locked_until - time.time()) + 1),
            message="Too many failed login attempts. Try again later.",
        )


def _record_failure(ident: str) -> None:
    key = _FAILURES_KEY.format(ident=ident)
    cache.add(key, 0, timeout=settings.ACCOUNTS_LOGIN_FAILURE_WINDOW)
    try:
        failures = cache.incr(key)
    except ValueError:  # the window expired between add and incr
        cache.set(key, 1, timeout=settings.ACCOUNTS_LOGIN_FAILURE_WINDOW)
        failures = 1
    if failures >= settings.ACCOUNTS_LOGIN_MAX_FAILURES:
        lockout = settings.ACCOUNTS_LOGIN_LOCKOUT
        cache.set(_LOCK_KEY.format(ident=ident), time.time() + lockout, timeout=lockout)
        cache.delete(key)


def user_login(*, identifier: str, password: str) -> dict[str, Any]:
    """Check the credentials and issue an access and a refresh token."""
    user = _find_login_user(identifier)
    ident = _lockout_ident(identifier, user)
    _check_lockout(ident)
    if user is None:
        # Hash anyway, so that an unknown name takes as long as a wrong password.
        User().set_password(password)
        _record_failure(ident)
        raise InvalidCredentials()
    if not user.check_password(password):
        _record_failure(ident)
        raise InvalidCredentials()
    cache.delete(_FAILURES_KEY.format(ident=ident))
    if user.status in _INACTIVE_ANSWERS:
        code, message = _INACTIVE_ANSWERS[user.status]
        raise Forbidden(message, code=code)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return tokens.issue_for_user(user)


def token_refresh(*, raw_refresh: str) -> dict[str, Any]:
    refresh = tokens.parse_refresh(raw_refresh)
    user = User.objects.filter(pk=refresh.payload.get("user_id")).first()
    if user is None or user.status in _INACTIVE_ANSWERS:
        raise InvalidToken("Token is invalid or expired.")
    tokens.check_cutoff(user, refresh)
    data: dict[str, Any] = {
        "access": str(refresh.access_token),
        "access_expires_in": tokens.lifetime_seconds(type(refresh.access_token)),
    }
    if settings.JWT_ROTATE_REFRESH_TOKENS:
        refresh.blacklist()
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        refresh.outstand()
        data["refresh"] = str(refresh)
        data["refresh_expires_in"] = tokens.lifetime_seconds(type(refresh))
    return data


def token_revoke_refresh(*, raw_refresh: str) -> None:
    tokens.parse_refresh(raw_refresh).blacklist()


def token_revoke_access(*, token: Any) -> None:
    tokens.deny_access(token)


def user_revoke_all_tokens(*, user: User) -> None:
    """Every token issued so far stops working (logout everywhere)."""
    user.tokens_valid_after = timezone.now()
    User.objects.filter(pk=user.pk).update(tokens_valid_after=user.tokens_valid_after)


@transaction.atomic
def user_set_password(*, user: User, password: str) -> None:
    """Change the password here and on YunoHost; every earlier token stops working.

    `User.set_password` moves the token cut-off forward.
    """
    from provisioning import services as lane

    user.set_password(password)
    user.save(update_fields=["password", "tokens_valid_after"])
    lane.account_set_password(user=user, password=password)


@transaction.atomic
def user_disable(*, user: User) -> None:
    user.status = User.Status.DISABLED
    user.save(update_fields=["status", "tokens_valid_after"])
