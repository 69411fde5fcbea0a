"""Login and tokens: the password step of every login door, the login sessions of the member
pages, the tokens' refresh and revocation, and logging out everywhere. The second factor's step
is mfa's (mfa/services.py), asked through logins.hooks.

The account is the User model (`get_user_model()`): its status rules are read from it (its
`Status` choices, `deletion_pending`, `is_service_account`), never from the accounts app's code."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework_simplejwt.exceptions import InvalidToken

import audit
from blahaj.errors import ApplicationError, Forbidden
from observability import metrics

from . import hooks, lockout, sessions, tokens
from .models import LoginSession
from .passwords import _unknown_user_check, password_matches

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# The audit log's object for a service that takes `user=` (audit/recorder.py).
_USER = audit.of("user", "user", "username")


def _inactive_answer(user: User) -> tuple[str, str] | None:
    """The 403 (code, message) of an account that cannot log in because of its status, or None."""
    status = type(user).Status
    answers: dict[str, tuple[str, str]] = {
        status.PENDING_CONFIRMATION: (
            "email_unconfirmed",
            _("Please confirm your email address first: we sent you a link."),
        ),
        status.PENDING_APPROVAL: (
            "approval_pending",
            _("Your account is waiting for a staff member's approval."),
        ),
        status.DISABLED: ("account_disabled", _("This account has been disabled.")),
    }
    return answers.get(user.status)


DELETION_PENDING = (
    "deletion_pending",
    gettext_lazy(
        "This account is being deleted. To keep it, use the cancel link we emailed you when you asked for the deletion."
    ),
)


def login_allowed(user: User) -> bool:
    """Whether the account may log in or keep a session now: not waiting for confirmation or
    approval, not disabled, not being deleted. (user_authenticate says which, with its 403.)"""
    return _inactive_answer(user) is None and not user.deletion_pending


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"
    message = gettext_lazy("Invalid username or password.")


def user_for_identifier(identifier: str) -> User | None:
    """The account a login (or a reset request) names: by email when it has an @, else by username."""
    identifier = identifier.strip()
    users = get_user_model().objects
    if "@" in identifier:
        return users.filter(email__iexact=identifier).select_related("tier").first()
    return users.filter(username=identifier.lower()).select_related("tier").first()


class Authenticated(NamedTuple):
    user: User
    second_factor_due: bool  # the account has a second factor: the login needs its step


@metrics.outcome(metrics.LOGINS)
def user_authenticate(*, identifier: str, password: str) -> Authenticated:
    """The account these credentials open, or an error: InvalidCredentials (counted toward
    the account's lockout), TooManyAttempts while locked out, Forbidden for an account that
    cannot log in yet (or any more). Every login door (the API, the legacy /login, the
    member pages' /account/login/, the admin's backend) starts here."""
    user = user_for_identifier(identifier)
    ident = lockout.ident_for(identifier, user)
    lockout.check(ident)
    if user is None:
        _unknown_user_check(password)
        lockout.record_failure(ident)
        raise InvalidCredentials()
    if not password_matches(user=user, password=password):
        lockout.record_failure(ident)
        raise InvalidCredentials()
    # With a second factor, the password alone does not clear the failures: whoever holds it
    # would get a fresh budget of code guesses at every login (mfa.services clears them).
    second_factor = hooks.second_factor().has_second_factor(user)
    if not second_factor:
        lockout.clear_failures(ident)
    if (inactive := _inactive_answer(user)) is not None:
        code, message = inactive
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
    get_user_model().objects.filter(pk=user.pk).update(last_login=timezone.now())
    session = sessions.session_start(user=user, kind=LoginSession.Kind.API, ip=ip, user_agent=user_agent)
    return tokens.issue_for_user(user, session_id=str(session.public_id))


SERVICE_ACCOUNT_PAGES = gettext_lazy(
    "A service account cannot sign in to the member pages: it may only create accounts."
)


def user_page_session_start(*, user: User, ip: str | None = None, user_agent: str = "") -> LoginSession:
    """A member page login that passed every step: its session, listed and ended like a
    token login's. A service account has no member pages: refused (403 `service_account`),
    after its password was checked, so the answer tells nobody else what the account is."""
    if user.is_service_account:
        raise Forbidden(SERVICE_ACCOUNT_PAGES, code="service_account")
    get_user_model().objects.filter(pk=user.pk).update(last_login=timezone.now())
    return sessions.session_start(user=user, kind=LoginSession.Kind.PAGE, ip=ip, user_agent=user_agent)


def user_page_logout(*, session_id: str) -> None:
    """A member page's "Log out": its login session ends."""
    with transaction.atomic():
        sessions.session_end_by_token(session_id=session_id)


def page_session_alive(*, user_id: int, session_id: str) -> bool:
    return sessions.page_session_alive(session_id=session_id, user_id=user_id)


def mfa_challenge(*, user: User) -> dict[str, Any]:
    """The answer to a right password when a second factor is due: a short-lived one-time
    token for the second step, no access or refresh token."""
    return {
        "mfa_required": True,
        "mfa_token": hooks.second_factor().login_token(user),
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
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None or not login_allowed(user):
        raise InvalidToken(_("Token is invalid or expired."))
    tokens.check_cutoff(user, refresh)
    if (session_id := tokens.session_of(refresh)) is not None:
        sessions.session_check(session_id=session_id, user_id=user.pk)
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
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    if spent is None or user is None:
        return
    logger.warning("A spent refresh token of user %s was presented again: its login session ends.", user.pk)
    with transaction.atomic():
        if (session_id := tokens.session_of(spent)) is not None:
            sessions.session_end_by_token(session_id=session_id)
        else:
            user_revoke_all_tokens(user=user)


def token_revoke_refresh(*, raw_refresh: str) -> None:
    """That refresh token dies, and the login session it carries ends (with its access tokens)."""
    refresh = tokens.parse_refresh(raw_refresh)
    with transaction.atomic():
        refresh.blacklist()
        sessions.session_end_by_token(session_id=tokens.session_of(refresh))


def token_revoke_access(*, token: Any) -> None:
    tokens.deny_access(token)


@transaction.atomic
@audit.audited("user.tokens.revoke", target=_USER)
def user_revoke_all_tokens(*, user: User) -> None:
    """Every token issued so far stops working (logout everywhere); every session ends."""
    user.revoke_tokens()
    user.save(update_fields=["tokens_valid_after"])
    tokens.user_saved(user, cutoff_moved=True)
    sessions.sessions_end_all(user=user)


@transaction.atomic
@audit.audited(
    "user.session.end",
    target=lambda kwargs, _: f"user:{kwargs['session'].user.username}",
    detail=lambda kwargs, _: f"{kwargs['session'].get_kind_display()} session {kwargs['session'].public_id}",
)
def session_end_by_staff(*, session: LoginSession) -> None:
    """Staff end someone's login session (the admin): its refresh token and access tokens die
    at once. NotFound if it had ended already."""
    sessions.session_end(user=session.user, session_id=str(session.public_id))
