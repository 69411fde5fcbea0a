"""Login and tokens: the password step of every login door, the login sessions of the member
pages, and the tokens' refresh and revocation. The second factor's step is mfa/services.py."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import InvalidToken

from blahaj import metrics
from blahaj.errors import ApplicationError, Forbidden

from .. import hooks, login_sessions, tokens
from ..models import LoginSession, OneTimeToken, User
from .lifecycle import user_revoke_all_tokens
from .links import one_time_token_issue
from .lockout import _FAILURES_KEY, _check_lockout, _lockout_ident, _record_failure
from .passwords import _unknown_user_check, password_matches

logger = logging.getLogger(__name__)


_INACTIVE_ANSWERS: dict[str, tuple[str, str]] = {
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
DELETION_PENDING = (
    "deletion_pending",
    "This account is being deleted. To keep it, use the cancel link we emailed you when you asked for the deletion.",
)


def login_allowed(user: User) -> bool:
    """Whether the account may log in or keep a session now: not waiting for confirmation or
    approval, not disabled, not being deleted. (user_authenticate says which, with its 403.)"""
    return user.status not in _INACTIVE_ANSWERS and not user.deletion_pending


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"
    message = "Invalid username or password."


def _find_login_user(identifier: str) -> User | None:
    identifier = identifier.strip()
    if "@" in identifier:
        return User.objects.filter(email__iexact=identifier).select_related("tier").first()
    return User.objects.filter(username=identifier.lower()).select_related("tier").first()


class Authenticated(NamedTuple):
    user: User
    second_factor_due: bool  # the account has a second factor: the login needs its step


@metrics.outcome(metrics.LOGINS)
def user_authenticate(*, identifier: str, password: str) -> Authenticated:
    """The account these credentials open, or an error: InvalidCredentials (counted toward
    the account's lockout), TooManyAttempts while locked out, Forbidden for an account that
    cannot log in yet (or any more). Every login door (the API, the legacy /login, the
    member pages' /account/login/, the admin's backend) starts here."""
    user = _find_login_user(identifier)
    ident = _lockout_ident(identifier, user)
    _check_lockout(ident)
    if user is None:
        _unknown_user_check(password)
        _record_failure(ident)
        raise InvalidCredentials()
    if not password_matches(user=user, password=password):
        _record_failure(ident)
        raise InvalidCredentials()
    # With a second factor, the password alone does not clear the failures: whoever holds it
    # would get a fresh budget of code guesses at every login (mfa.services clears them).
    second_factor = hooks.second_factor().has_second_factor(user)
    if not second_factor:
        cache.delete(_FAILURES_KEY.format(ident=ident))
    if user.status in _INACTIVE_ANSWERS:
        code, message = _INACTIVE_ANSWERS[user.status]
        raise Forbidden(message, code=code)
    if user.deletion_pending:
        raise Forbidden(DELETION_PENDING[1], code=DELETION_PENDING[0])
    return Authenticated(user, second_factor)


def user_login(*, identifier: str, password: str, ip: str | None = None, user_agent: str = "") -> dict[str, Any]:
    """Check the credentials, start a login session (`ip`, `user_agent`: what the member's
    session list shows) and issue its access and refresh token (claim `sid`)."""
    user, second_factor_due = user_authenticate(identifier=identifier, password=password)
    # The second factor: an account with TOTP gets no tokens yet, but a step to finish
    # (mfa.services.user_login_mfa); the front end's service account has none and never will.
    if second_factor_due:
        return mfa_challenge(user=user)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    session = login_sessions.session_start(user=user, kind=LoginSession.Kind.API, ip=ip, user_agent=user_agent)
    return tokens.issue_for_user(user, session_id=str(session.public_id))


SERVICE_ACCOUNT_PAGES = "A service account cannot sign in to the member pages: it may only create accounts."


def user_page_session_start(*, user: User, ip: str | None = None, user_agent: str = "") -> LoginSession:
    """A member page login that passed every step: its session, listed and ended like a
    token login's. A service account has no member pages: refused (403 `service_account`),
    after its password was checked, so the answer tells nobody else what the account is."""
    if user.is_service_account:
        raise Forbidden(SERVICE_ACCOUNT_PAGES, code="service_account")
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return login_sessions.session_start(user=user, kind=LoginSession.Kind.PAGE, ip=ip, user_agent=user_agent)


def user_page_logout(*, session_id: str) -> None:
    """A member page's "Log out": its login session ends."""
    with transaction.atomic():
        login_sessions.session_end_by_token(session_id=session_id)


def page_session_alive(*, user_id: int, session_id: str) -> bool:
    return login_sessions.page_session_alive(session_id=session_id, user_id=user_id)


def mfa_challenge(*, user: User) -> dict[str, Any]:
    """The answer to a right password when a second factor is due: a short-lived one-time
    token for the second step, no access or refresh token."""
    return {
        "mfa_required": True,
        "mfa_token": one_time_token_issue(user=user, purpose=OneTimeToken.Purpose.MFA),
        "mfa_expires_in": settings.ACCOUNTS_MFA_TOKEN_LIFETIME,
        "methods": hooks.second_factor().code_methods(user),
    }


def token_refresh(*, raw_refresh: str) -> dict[str, Any]:
    try:
        refresh = tokens.parse_refresh(raw_refresh)
    except InvalidToken:
        _refresh_reuse_revoke(raw_refresh)
        raise
    user_id = refresh.payload.get("user_id")
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None or not login_allowed(user):
        raise InvalidToken("Token is invalid or expired.")
    tokens.check_cutoff(user, refresh)
    if (session_id := tokens.session_of(refresh)) is not None:
        login_sessions.session_check(session_id=session_id, user_id=user.pk)
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


def _refresh_reuse_revoke(raw_refresh: str) -> None:
    """A refresh token that was already rotated out (or revoked) comes back: two parties hold
    it, and the server cannot tell the thief from the member. Its whole family dies: the login
    session every token descended from that login carries in `sid` ends, so the refresh token
    the other party holds and every access token minted along the way stop working
    (RFC 6819 §5.2.2.3; OAuth 2.0 Security BCP §4.14). A token of no login session stands for
    every token of its account."""
    spent = tokens.spent_refresh(raw_refresh)
    user_id = spent.payload.get("user_id") if spent is not None else None
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if spent is None or user is None:
        return
    logger.warning("A spent refresh token of user %s was presented again: its login session ends.", user.pk)
    with transaction.atomic():
        if (session_id := tokens.session_of(spent)) is not None:
            login_sessions.session_end_by_token(session_id=session_id)
        else:
            user_revoke_all_tokens(user=user)


def token_revoke_refresh(*, raw_refresh: str) -> None:
    """That refresh token dies, and the login session it carries ends (with its access tokens)."""
    refresh = tokens.parse_refresh(raw_refresh)
    with transaction.atomic():
        refresh.blacklist()
        login_sessions.session_end_by_token(session_id=tokens.session_of(refresh))


def token_revoke_access(*, token: Any) -> None:
    tokens.deny_access(token)
