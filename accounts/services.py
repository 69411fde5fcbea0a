"""Account business logic. Views, pages, the admin and tasks all call these functions."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.exceptions import InvalidToken

import audit
from blahaj import crypto, metrics, notifications, outbox
from blahaj.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    Gone,
    ServiceUnavailable,
    TooManyAttempts,
    ValidationFailed,
)
from provisioning import password_policy
from provisioning import passwords as yunohost_passwords
from provisioning import services as provisioning_services
from provisioning.models import Operation, Server
from tiers import services as tier_services
from tiers.models import ReferralCode, Tier

from . import emails, login_sessions, mfa, signals, site, tokens
from . import yunohost as lane
from .models import (
    EmailChange,
    Invitation,
    LoginSession,
    OneTimeToken,
    SiteSettings,
    StaffNotice,
    User,
    UsernameQuarantine,
)
from .validators import normalize_email, validate_password_length

logger = logging.getLogger(__name__)

# The audit log's object for a service that takes `user=` (audit/recorder.py).
_USER = audit.of("user", "user", "username")

# --- Login and tokens ----------------------------------------------------------------------

_FAILURES_KEY = "login:failures:{ident}"
_LOCK_KEY = "login:locked:{ident}"
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


def _lockout_ident(identifier: str, user: User | None) -> str:
    # Keyed on the account when there is one, so that its username and its email share one
    # budget of attempts; otherwise on what was typed, hashed (any length fits a cache key, and
    # the cache holds no typed names).
    if user is not None:
        return f"user:{user.pk}"
    return f"name:{hashlib.sha256(identifier.strip().lower().encode()).hexdigest()}"


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


def _clear_failures(ident: str) -> None:
    cache.delete(_FAILURES_KEY.format(ident=ident))


def password_matches(*, user: User, password: str) -> bool:
    """Whether `password` is the account's: the one place that decides (every login door, and
    the password a signed-in member gives again to change or delete something). YunoHost
    decides for an active account (`_password_ok`, below)."""
    return _password_ok(user, password)


class Authenticated(NamedTuple):
    user: User
    second_factor_due: bool  # the account has a second factor: the login needs its step


@metrics.outcome(metrics.LOGINS)
def user_authenticate(*, identifier: str, password: str) -> Authenticated:
    """The account these credentials open, or an error: InvalidCredentials (counted toward
    the account's lockout), TooManyAttempts while locked out, Forbidden for an account that
    cannot log in yet (or any more). Every login door (the API, the seed's /login, the
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
    # would get a fresh budget of code guesses at every login (services_mfa clears them).
    second_factor = mfa.has_second_factor(user)
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
    # (services_mfa.user_login_mfa); the front end's service account has none and never will.
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
        "methods": mfa.code_methods(user),
    }


# --- Who decides a password -------------------------------------------------------------------
# An active account has a YunoHost user, whose password the member can change in YunoHost's own
# portal: YunoHost's answer (provisioning/passwords.py) decides, the local hash follows it. Every
# other account is not on YunoHost yet: the local hash decides.

# The name asked about for an unknown user: a valid one (an invalid name is refused before any
# request, which would be quicker); whatever YunoHost answers about it is ignored.
_NOBODY = "blahaj.unknown.member"


class YunohostUnreachable(ServiceUnavailable):
    code = "yunohost_unreachable"
    message = "We cannot check your password right now because the server is unreachable. Try again in a few minutes."


def _yunohost_decides(username: str, password: str, *, probe: bool = False) -> bool | None:
    """YunoHost's answer, or None when the local hash decides (not asked, or unreachable)."""
    verdict = yunohost_passwords.check_password(username, password, probe=probe)
    if verdict is yunohost_passwords.Verdict.UNREACHABLE:
        if settings.YUNOHOST_PASSWORD_UNREACHABLE == "refuse":  # noqa: S105 - a setting's value, no secret
            raise YunohostUnreachable()
        logger.warning("YunoHost could not check a password; the local hash decides for %s", username)
        return None
    if verdict is yunohost_passwords.Verdict.UNDECIDED:
        return None
    return verdict is yunohost_passwords.Verdict.ACCEPTED


def _on_settings_server(user: User) -> bool:
    """Whether the account's YunoHost user is on the server YUNOHOST_PASSWORD_CHECK asks (the
    first one); a member on another server is judged by the local hash (docs/deploy.md, 6C)."""
    server = user.server if user.server_id is not None else None
    return server is None or server.uses_settings


def _password_ok(user: User, password: str) -> bool:
    local = user.check_password(password)
    if user.status != User.Status.ACTIVE or not user.on_yunohost or not _on_settings_server(user):
        # The local hash decides, but YunoHost is asked all the same (about nobody, the answer
        # ignored, an outage too): the time of an answer must not tell which accounts are on
        # YunoHost, nor which names exist (_unknown_user_check does the same work).
        yunohost_passwords.check_password(_NOBODY, password, probe=True)
        return local
    remote = _yunohost_decides(user.username, password)
    if remote is None:
        return local
    if remote and not local:
        user_adopt_yunohost_password(user=user, password=password)
    return remote


def _unknown_user_check(password: str) -> None:
    """The work of a known active user's check, for a name that has no account: a hash and a
    question to YunoHost, so that the time of an answer does not tell which names exist."""
    User().set_password(password)
    _yunohost_decides(_NOBODY, password, probe=True)


@transaction.atomic
def user_adopt_yunohost_password(*, user: User, password: str) -> None:
    """The member changed their password on YunoHost: the local hash follows and every earlier
    token stops working. Nothing goes to the lane: YunoHost has this password already."""
    user.set_password(password)
    _user_save(user, fields=["password", "tokens_valid_after"], cutoff_moved=True)


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


def _user_save(user: User, *, fields: list[str], cutoff_moved: bool = False) -> None:
    """Save these columns of the user; once committed, every server process drops its cached
    copy and, if the token cut-off moved, hears of the new one.

    After the commit, not before: a request reading the row in between would cache the old
    one again (the cut-off alone would survive that, the other columns would not).
    """
    user.save(update_fields=fields)
    _user_forget_after_commit(user.pk)
    if cutoff_moved:
        transaction.on_commit(lambda: tokens.publish_cutoff(user))


def _user_forget_after_commit(user_id: int) -> None:
    transaction.on_commit(lambda: tokens.forget_user(user_id))


@transaction.atomic
@audit.audited("user.tokens.revoke", target=_USER)
def user_revoke_all_tokens(*, user: User) -> None:
    """Every token issued so far stops working (logout everywhere); every session ends."""
    user.revoke_tokens()
    _user_save(user, fields=["tokens_valid_after"], cutoff_moved=True)
    login_sessions.sessions_end_all(user=user)


@transaction.atomic
@audit.audited("user.password.set", target=_USER)
def user_set_password(*, user: User, password: str, keep_session: str | None = None) -> None:
    """Change the password here and on YunoHost; every earlier token stops working, and
    every login session but `keep_session` ends.

    `User.set_password` moves the token cut-off forward.
    """
    user.set_password(password)
    _user_save(user, fields=["password", "tokens_valid_after"], cutoff_moved=True)
    login_sessions.sessions_end_all(user=user, keep=keep_session)
    lane.account_set_password(user=user, password=password)


@transaction.atomic
@audit.audited("user.erase", target=_USER)
def user_erase(*, user: User) -> None:
    """The last step of an erasure: delete the row here and queue `yunohost user delete`
    (home and mail too).

    Not a door of its own: staff and members delete an account through accounts/deletion.py,
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
    message = "This is the last active superuser: make another account a superuser first."


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
    _user_save(user, fields=["status", "tokens_valid_after"], cutoff_moved=True)
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
    _user_save(user, fields=["is_staff", "is_superuser"])


# --- Registration, confirmation and password reset -----------------------------------------


class TokenInvalid(ApplicationError):
    code = "token_invalid"
    message = "This link is invalid or has already been used."


class TokenExpired(Gone):
    code = "token_expired"
    message = "This link has expired. Ask for a new one."


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


def _invalid(fields: dict[str, list[str]]) -> ValidationFailed:
    # Same message rule as blahaj.exception_handler for serializer errors: one field, its own sentence.
    message = next(iter(fields.values()))[0] if len(fields) == 1 else None
    return ValidationFailed(message, fields=fields)


def _password_errors(*, user: User, password: str) -> list[str]:
    try:
        validate_password_length(password)  # cheap, and before anything hashes or scores it
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        return list(error.messages)
    return []


def _validate_new_account(*, user: User, password: str) -> None:
    errors: dict[str, list[str]] = {}
    try:
        # Uniqueness is answered with 409 (below), not as a field error.
        user.full_clean(exclude=["password", "tier"], validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        errors.update(error.message_dict)
    if password_errors := _password_errors(user=user, password=password):
        errors["password"] = password_errors
    if errors:
        raise _invalid(errors)


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


def _taken(user: User) -> Conflict | None:
    # A quarantined name (a deleted account's) is answered exactly like a taken one.
    if User.objects.filter(username=user.username).exists() or username_quarantined(user.username):
        return Conflict("Username already taken", code="username_taken")
    if User.objects.filter(email__iexact=user.email).exists():
        return Conflict("Email already registered", code="email_taken")
    return None


def _taken_on_yunohost(user: User) -> Conflict | None:
    """A name YunoHost has that no account here has is someone else's (an admin's user, made by
    hand): answered like a taken name, never handed out. Asked before any row is written; when
    YunoHost does not answer the sign-up goes on, and the lane's `user create` refuses a user it
    did not make (docs/yunohost.md §11.4)."""
    if provisioning_services.user_on_yunohost(username=user.username):
        return Conflict("Username already taken", code="username_taken")
    return None


def _referral_code_claim(code: str, *, public: bool = False) -> tuple[int, int]:
    """Take one use of `code`; its id, and the id of its tier (or of the default tier).

    `public`: the code was typed into a sign-up form, where an invitation's code (its link's
    privilege) does not work. Checked apart from the UPDATE: a join would make it an
    `id IN (subquery)`, whose conditions PostgreSQL does not re-check after waiting for a
    concurrent claim's row lock.
    """
    now = timezone.now()
    if public and Invitation.objects.filter(referral_code__code=code).exists():
        raise ApplicationError("This referral code is invalid, expired or used up.", code="referral_code_invalid")
    usable = (
        ReferralCode.objects.filter(code=code, is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
    )
    # Active, unexpired, not used up: checked and taken in one conditional UPDATE, so two
    # sign-ups can't both take the last use, and the caller's rollback (a 409) gives it back.
    if not usable.update(uses=F("uses") + 1):
        raise ApplicationError("This referral code is invalid, expired or used up.", code="referral_code_invalid")
    code_id, tier_id = ReferralCode.objects.values_list("pk", "tier_id").get(code=code)
    return code_id, tier_id or User.objects.default_tier_id()


def user_register(
    *,
    username: str,
    display_name: str,
    email: str,
    password: str,
    discord_username: str = "",
    referral_code: str = "",
    accept_terms: bool = False,
    note: str = "",
    invitation: str = "",
) -> User:
    """Create a `pending_confirmation` account and mail its confirmation link.

    The password is stored hashed, and also encrypted (`pending_password`) until YunoHost
    has it: `yunohost user create` needs the clear text. With an `invitation` (the token of
    its link), the link has confirmed the address: no confirmation email, no approval, the
    account goes straight on to provisioning.
    """
    if not settings.ACCOUNTS_REGISTRATION_OPEN:
        raise Forbidden("Registration is closed for now.", code="registration_closed")
    user = User(
        username=username,
        display_name=display_name,
        email=normalize_email(email),
        discord_username=discord_username,
        signup_note=note.strip(),
    )
    _validate_new_account(user=user, password=password)
    _terms_record(user, accepted=accept_terms)
    invited = _invitation_for_signup(raw=invitation, email=user.email) if invitation else None
    if conflict := _taken(user) or _taken_on_yunohost(user):
        raise conflict
    try:
        with transaction.atomic():
            if invited is not None:
                user.referral_code_id, user.tier_id = _invitation_claim(invited)
            elif referral_code:
                user.referral_code_id, user.tier_id = _referral_code_claim(referral_code, public=True)
            user.tier_id = user.tier_id or User.objects.default_tier_id()
            user.set_password(password)
            user.pending_password = crypto.encrypt(password)
            if invited is not None:
                user.confirmed_at = timezone.now()
            user.save()
            if invited is not None:
                _invitation_accepted(invited, user=user)
            else:
                emails.send_confirmation(user=user)
    except IntegrityError:
        # Lost a race to a concurrent sign-up: its row is committed, so `_taken` sees it.
        raise _taken(user) or Conflict("Please try again.", code="conflict") from None
    return user


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


def _one_time_token_check(*, raw: str, purpose: str) -> OneTimeToken:
    token = (
        OneTimeToken.objects.select_related("user").filter(digest=OneTimeToken.digest_of(raw), purpose=purpose).first()
    )
    if token is None or token.used_at is not None or token.user.status == User.Status.DISABLED:
        raise TokenInvalid()
    if token.is_expired():
        raise TokenExpired()
    return token


def _one_time_token_use(token: OneTimeToken) -> None:
    # Conditional UPDATE: of two concurrent uses, the second updates nothing and loses.
    if not OneTimeToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise TokenInvalid()


def _user_move(user: User, *, from_statuses: tuple[str, ...], to: str) -> None:
    """Change the status only if it still is one of `from_statuses` (in a transaction).

    The row lock makes two concurrent moves (two staff members approving) take turns, and
    the second one sees the first one's status.
    """
    current = User.objects.select_for_update().values_list("status", flat=True).get(pk=user.pk)
    if current not in from_statuses:
        raise Conflict(f"The account is no longer {user.get_status_display().lower()}.", code="invalid_status")
    user.status = to
    _user_save(user, fields=["status"])


def _referral_skips_approval(user: User) -> bool:
    # Read now, not at sign-up: a code staff deactivated meanwhile no longer lets anyone in.
    return (
        user.referral_code_id is not None
        and ReferralCode.objects.filter(pk=user.referral_code_id, is_active=True, skips_approval=True).exists()
    )


@transaction.atomic
def user_confirm_email(*, token: str) -> User:
    """Use a confirmation token: on to approval, or straight to provisioning."""
    row = _one_time_token_check(raw=token, purpose=OneTimeToken.Purpose.CONFIRM)
    user = row.user
    if user.status != User.Status.PENDING_CONFIRMATION:
        raise TokenInvalid()
    _one_time_token_use(row)
    user.confirmed_at = timezone.now()
    _user_save(user, fields=["confirmed_at"])
    if settings.ACCOUNTS_REQUIRE_APPROVAL and not _referral_skips_approval(user):
        _user_move(user, from_statuses=(User.Status.PENDING_CONFIRMATION,), to=User.Status.PENDING_APPROVAL)
        notifications.signup_waiting(username=user.username, display_name=user.display_name, note=user.signup_note)
        staff_notice_record(
            kind=StaffNotice.Kind.PENDING_REQUEST,
            text=f"{user.username} ({user.display_name}) waits for approval."
            + (f" Their note: {user.signup_note}" if user.signup_note else ""),
        )
    else:
        user_begin_provisioning(user=user)
    return user


@transaction.atomic
def user_begin_provisioning(*, user: User) -> None:
    """Status `provisioning` and the YunoHost `user create`, in one transaction."""
    _user_move(
        user,
        from_statuses=(User.Status.PENDING_CONFIRMATION, User.Status.PENDING_APPROVAL),
        to=User.Status.PROVISIONING,
    )
    lane.account_create(user=user)


@audit.audited("user.approve", target=_USER)
def user_approve(*, user: User) -> None:
    """Staff let a confirmed account in (approval mode): provisioning starts."""
    if user.status != User.Status.PENDING_APPROVAL:
        raise Conflict("Only an account waiting for approval can be approved.", code="invalid_status")
    user_begin_provisioning(user=user)
    emails.send_approved(user=user)


def user_request_confirmation(*, email: str) -> None:
    """Mail a new confirmation link if `email` belongs to an unconfirmed account.

    The request does no lookup at all: the worker does it. So a known and an unknown address
    cost the request the same work and get the same answer, byte for byte.
    """
    outbox.enqueue("accounts.tasks.resend_confirmation_to", email)


def user_request_password_reset(*, identifier: str) -> None:
    """Mail a reset link to the account with this email or username, if there is one.

    Like `user_request_confirmation`, the lookup happens in the worker.
    """
    outbox.enqueue("accounts.tasks.send_password_reset_to", identifier)


def user_confirmation_redeliver(*, email: str) -> None:
    """Worker side of `user_request_confirmation`."""
    user = User.objects.filter(email__iexact=normalize_email(email), status=User.Status.PENDING_CONFIRMATION).first()
    if user is not None:
        email_deliver(kind=emails.CONFIRMATION, user=user)


def user_password_reset_deliver(*, identifier: str) -> None:
    """Worker side of `user_request_password_reset`."""
    user = _find_login_user(identifier)
    if user is not None and user.status != User.Status.DISABLED:
        email_deliver(kind=emails.PASSWORD_RESET, user=user)


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


def user_from_reset_token(*, token: str) -> User:
    """The account a reset link belongs to, without using the link (the form page's GET)."""
    return _one_time_token_check(raw=token, purpose=OneTimeToken.Purpose.RESET).user


@transaction.atomic
def user_confirm_password_reset(*, token: str, password: str) -> User:
    """Set the password chosen through a reset link.

    The token is used only once the password passes the policy, so a refused password
    leaves the link working. Every JWT of the user dies (`user_set_password`), so does every
    other reset link, and the user is told by email.
    """
    row = _one_time_token_check(raw=token, purpose=OneTimeToken.Purpose.RESET)
    user = row.user
    if password_errors := _password_errors(user=user, password=password):
        raise _invalid({"password": password_errors})
    _one_time_token_use(row)
    user_set_password(user=user, password=password)
    OneTimeToken.objects.filter(user=user, purpose=OneTimeToken.Purpose.RESET).delete()
    if user.pending_password:
        # Not on YunoHost yet: the account must be created with the new password.
        user.pending_password = crypto.encrypt(password)
        user.save(update_fields=["pending_password"])
    emails.send_password_changed(user=user)
    return user


# --- What the YunoHost lane's outcomes mean to the account (registered in apps.py) ----------
# Called inside the lane's transaction that records the outcome: see provisioning/outcomes.py.


def user_provisioned(*, operation: Operation) -> None:
    """`user create` succeeded: the account is active, its owner welcomed, staff told."""
    if operation.user_id is None:
        return  # the account was deleted meanwhile
    # A disabled account stays disabled; a retried, already active one is not welcomed twice.
    User.objects.filter(pk=operation.user_id).update(on_yunohost=True)
    became_active = (
        User.objects.filter(pk=operation.user_id)
        .exclude(status__in=[User.Status.ACTIVE, User.Status.DISABLED])
        .update(status=User.Status.ACTIVE)
    )
    if not became_active:
        return
    _user_forget_after_commit(operation.user_id)
    user = User.objects.get(pk=operation.user_id)
    emails.send_welcome(user=user)
    notifications.account_created(username=user.username, mail_address=user.mail_address)


def user_provisioning_failed(*, operation: Operation) -> None:
    """`user create` failed for good: staff are told, and retry it (operation_retry) once they
    fixed the cause. When YunoHost refused the password (its list or its strength setting
    changed since the sign-up), the owner is mailed a link to choose another one, and the
    creation goes on by itself with it (`lane.account_set_password`)."""
    username = operation.args.get("username", operation.subject)
    password_refused = password_policy.refused_password(operation.error)
    notifications.provisioning_failed(
        username=username,
        operation_id=operation.pk,
        attempts=operation.attempts,
        error=operation.error,
    )
    text = f"The YunoHost account of {username} could not be created (operation #{operation.pk}): {operation.error}"
    if password_refused:
        text += f" {username} was sent a link to choose another password; the account is created once they do."
    staff_notice_record(kind=StaffNotice.Kind.PROVISIONING_FAILED, text=text)
    if operation.user_id is None:
        return  # the account was deleted meanwhile
    if User.objects.filter(pk=operation.user_id, status=User.Status.PROVISIONING).update(
        status=User.Status.PROVISIONING_FAILED
    ):
        _user_forget_after_commit(operation.user_id)
        if password_refused:
            emails.send_password_refused(user=User.objects.get(pk=operation.user_id))


def user_provisioning_retried(*, operation: Operation) -> None:
    if operation.user_id is None:
        return  # the account was deleted meanwhile
    if User.objects.filter(pk=operation.user_id, status=User.Status.PROVISIONING_FAILED).update(
        status=User.Status.PROVISIONING
    ):
        _user_forget_after_commit(operation.user_id)


# --- Tiers -----------------------------------------------------------------------------------

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


# --- Staff administration ------------------------------------------------------------------


def _judge(user: User, *, fields: list[str]) -> None:
    """Validate `fields` of `user` (field errors: 400), then uniqueness (409)."""
    others = [f.name for f in User._meta.fields if f.name not in fields]
    try:
        user.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        raise _invalid(error.message_dict) from None


def _email_in_use(user: User) -> Conflict | None:
    if User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists():
        return Conflict("Email already in use", code="email_taken")
    return None


def _lower_case_username(username: str) -> str:
    # YunoHost's rule. Refused rather than lowered: the person meant some name, and staff
    # should see that it is not the one that will exist.
    if username != username.lower():
        raise _invalid({"username": ["Usernames are lower case: use a-z, 0-9, dots and underscores only."]})
    return username


def _new_staff_user(*, username: str, display_name: str, email: str, discord_username: str, tier: Tier | None) -> User:
    """The unsaved account `user_create_by_staff` would create; refused as it would refuse it."""
    user = User(
        username=_lower_case_username(username.strip()),
        display_name=display_name.strip(),
        email=normalize_email(email.strip()),
        discord_username=discord_username.strip().lower(),
        tier_id=tier.pk if tier is not None else User.objects.default_tier_id(),
        confirmed_at=timezone.now(),
    )
    _judge(user, fields=["username", "display_name", "email", "discord_username"])
    if conflict := _taken(user) or _taken_on_yunohost(user):
        raise Conflict("Email already in use", code="email_taken") if conflict.code == "email_taken" else conflict
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
        raise _taken(user) or Conflict("Please try again.", code="conflict") from None
    user_begin_provisioning(user=user)
    emails.send_set_password(user=user)
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
    _judge(user, fields=changed)
    if "email" in changed and (conflict := _email_in_use(user)):
        raise conflict
    try:
        with transaction.atomic():
            _user_save(user, fields=changed)
            if "display_name" in changed:
                lane.account_set_fullname(user=user)
    except IntegrityError:
        raise _email_in_use(user) or Conflict("Please try again.", code="conflict") from None
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


class InvalidStatusChange(ApplicationError):
    code = "invalid_status_change"
    message = "Staff can disable an account, or make a disabled one active again; nothing else."


def user_set_status(*, user: User, status: str) -> User:
    """The status staff may set by hand: disabled, or active for a disabled account."""
    if status == user.status:
        return user
    if status == User.Status.DISABLED:
        user_disable(user=user)
    elif status == User.Status.ACTIVE and user.status == User.Status.DISABLED:
        user_enable(user=user)
    else:
        raise InvalidStatusChange()
    return user


@audit.audited("user.password_reset.send", target=_USER)
def user_send_password_reset(*, user: User) -> None:
    """Staff send the owner a reset link (queued)."""
    if user.status == User.Status.DISABLED:
        raise Conflict("A disabled account cannot reset its password.", code="account_disabled")
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
        raise Conflict("Only an account waiting for approval can be rejected.", code="invalid_status")
    emails.send_rejected(user=user, reason=reason.strip())
    user_erase(user=user)


def email_deliver_detached(*, kind: str, recipient: dict[str, str], reason: str = "") -> None:
    """Worker side of an email about an account that no longer exists (`send_rejected`)."""
    person = User(username=recipient["username"], display_name=recipient["display_name"], email=recipient["email"])
    emails.render(kind, user=person, reason=reason).send()


# --- Importing YunoHost's users -------------------------------------------------------------


class LaneBusy(ApplicationError):
    status_code = 503
    code = "lane_busy"
    message = "The YunoHost lane stayed busy; try again in a moment."


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # username: why


def _yunohost_users(server: Server | None) -> dict[str, dict[str, Any]]:
    """`user list`, read while holding the server's lane: no operation of ours runs there meanwhile."""
    try:
        users = provisioning_services.yunohost_users(server=server)
    except provisioning_services.YunohostReadFailed as error:
        raise ApplicationError(f"YunoHost could not list its users: {error}", code="yunohost_error") from None
    if users is None:
        raise LaneBusy()
    return users


def _imported_user(username: str, info: dict[str, Any], server: Server | None) -> User:
    # The recovery email is unknown to YunoHost: the account's own mailbox stands in for it
    # (a reset link then reaches the person through their blahaj.land mail).
    mail = info.get("mail") or f"{username}@{server.domain if server else settings.YUNOHOST_DOMAIN}"
    user = User(
        server=server,
        username=username,
        display_name=(info.get("fullname") or username).strip()[:30],
        email=normalize_email(mail),
        status=User.Status.ACTIVE,
        confirmed_at=timezone.now(),
        tier_id=User.objects.default_tier_id(),
        on_yunohost=True,
    )
    _judge(user, fields=["username", "display_name", "email"])
    if conflict := _email_in_use(user):
        raise conflict
    user.set_unusable_password()  # YunoHost has the password; a reset sets ours (and theirs)
    return user


@audit.audited(
    "user.import",
    target=lambda _, __: "yunohost",
    detail=lambda kwargs, summary: (
        ("dry run: " if kwargs.get("dry_run") else "")
        + f"created {len(summary.created)}, already there {len(summary.already_there)}, skipped {len(summary.skipped)}"
    ),
)
def users_import_from_yunohost(*, dry_run: bool = False, server: Server | None = None) -> ImportSummary:
    """Create, as active accounts on `server` (default: the first server), the YunoHost users
    it has that we have no account for. Idempotent."""
    summary = ImportSummary()
    known = set(User.objects.values_list("username", flat=True))
    server = server or provisioning_services.server_first()
    for username, info in sorted(_yunohost_users(server).items()):
        if username in known:
            summary.already_there.append(username)
            continue
        try:
            user = _imported_user(username, info, server)
            if not dry_run:
                with transaction.atomic():
                    user.save()
                    # Staff's word: from now on the service may change and delete this user.
                    provisioning_services.users_adopt(usernames=[username], server=server)
        except (ApplicationError, IntegrityError) as error:
            summary.skipped[username] = error.message if isinstance(error, ApplicationError) else "already taken"
            continue
        summary.created.append(username)
    return summary


# --- Terms of service ------------------------------------------------------------------------


class TermsNotAccepted(ApplicationError):
    code = "terms_not_accepted"
    message = "Please accept the terms of service."


def _terms_record(user: User, *, accepted: bool) -> None:
    """With ACCOUNTS_TERMS_URL set, a sign-up must accept the terms; when and which are kept."""
    if not settings.ACCOUNTS_TERMS_URL:
        return
    if not accepted:
        raise TermsNotAccepted(fields={"accept_terms": [TermsNotAccepted.message]})
    user.terms_accepted_at = timezone.now()
    user.terms_version = settings.ACCOUNTS_TERMS_VERSION


# --- Invitations -----------------------------------------------------------------------------


class InvitationInvalid(ApplicationError):
    code = "invitation_invalid"
    message = "This invitation link is not valid."


# Plain words for the sign-up page, by the invitation's state.
INVITATION_DEAD = {
    "unknown": "This invitation link is not valid: it may have been mistyped.",
    "used": "This invitation has already been used.",
    "cancelled": "This invitation was cancelled by the person who sent it.",
    "expired": "This invitation has expired.",
}


def _invitation_pending() -> Q:
    return Q(used_at__isnull=True, cancelled_at__isnull=True, expires_at__gt=timezone.now())


def invitation_for_link(*, raw: str) -> Invitation:
    """The pending invitation of a link (the sign-up page's GET); InvitationInvalid otherwise,
    whose `code` is `invitation_<state>` and `message` says why in plain words."""
    invitation = Invitation.objects.filter(digest=Invitation.digest_of(raw)).first() if raw else None
    state = "unknown" if invitation is None else invitation.state
    if invitation is None or state != "pending":
        raise InvitationInvalid(INVITATION_DEAD[state], code=f"invitation_{state}")
    return invitation


def _invitation_for_signup(*, raw: str, email: str) -> Invitation:
    invitation = invitation_for_link(raw=raw)
    if invitation.email.lower() != email.lower():
        # The link confirms one address: another one would go unconfirmed.
        raise InvitationInvalid(
            fields={"email": ["This invitation is for another address: sign up with the invited one."]}
        )
    return invitation


def _invitation_claim(invitation: Invitation) -> tuple[int, int]:
    """Use the invitation (conditional UPDATE: of two concurrent sign-ups one wins) and take
    its referral code, like any referral."""
    won = Invitation.objects.filter(_invitation_pending(), pk=invitation.pk).update(used_at=timezone.now())
    if not won:
        raise InvitationInvalid(INVITATION_DEAD["used"], code="invitation_used")
    return _referral_code_claim(invitation.referral_code.code)


def _invitation_accepted(invitation: Invitation, *, user: User) -> None:
    """The invited account exists (in the sign-up's transaction): provisioning starts, the
    inviter is told by email and staff on Discord."""
    Invitation.objects.filter(pk=invitation.pk).update(invitee=user)
    ReferralCode.objects.filter(pk=invitation.referral_code_id).update(is_active=False)
    user_begin_provisioning(user=user)
    if invitation.inviter_id is not None:
        emails.send_invitation_used(inviter_id=invitation.inviter_id, invitation_id=invitation.pk)
    inviter = invitation.inviter.username if invitation.inviter is not None else "staff"
    notifications.invitation_used(username=user.username, inviter=inviter)


def _invitation_cap(inviter: User) -> None:
    cap = Tier.objects.values_list("max_referral_codes", flat=True).get(pk=inviter.tier_id)
    pending = Invitation.objects.filter(_invitation_pending(), inviter=inviter).count()
    if pending >= cap:
        raise ApplicationError(
            f"You already have {cap} pending invitation(s), the most your tier allows.",
            code="invitation_limit",
            status_code=429,
        )


@transaction.atomic
@audit.audited(
    "invitation.create",
    target=lambda _, invitation: f"invitation:{invitation.pk if invitation else 'new'}",
    detail=lambda kwargs, invitation: (
        f"for {invitation.email}" + (f", tier {kwargs['tier'].slug}" if kwargs.get("tier") else "")
    ),
)
def invitation_create(*, inviter: User, email: str, note: str = "", tier: Tier | None = None) -> Invitation:
    """Invite `email` to sign up: a single-use referral code owned by the inviter, and an
    email whose link (INVITATIONS_TTL) opens the sign-up page.

    Staff may put the account on a tier; members (REFERRALS_USER_CODES) invite onto the
    default tier, at most their tier's `max_referral_codes` pending invitations at once.
    """
    if not inviter.is_staff:
        if not settings.REFERRALS_USER_CODES:
            raise Forbidden("Members cannot send invitations.", code="permission_denied")
        if tier is not None:
            raise Forbidden("Only staff choose an invited account's tier.", code="permission_denied")
        # The inviter's row lock serialises two invitations of one member, so the cap holds.
        User.objects.select_for_update().only("pk").get(pk=inviter.pk)
        _invitation_cap(inviter)
    address = normalize_email(email.strip())
    invitation = Invitation(email=address, note=note.strip(), inviter=inviter)
    _judge_invitation(invitation)
    if User.objects.filter(email__iexact=address).exists():
        # Whose account it is stays unsaid.
        raise Conflict("An account already uses this address.", code="email_taken")
    now = timezone.now()
    invitation.created_at = now
    invitation.expires_at = now + timedelta(seconds=settings.INVITATIONS_TTL)
    invitation.referral_code = tier_services.referral_code_create(
        owner=inviter, tier=tier, max_uses=1, expires_at=invitation.expires_at, skips_approval=True
    )
    invitation.save()
    outbox.enqueue("accounts.tasks.send_invitation", invitation.pk)
    return invitation


def _judge_invitation(invitation: Invitation) -> None:
    try:
        invitation.full_clean(exclude=["referral_code", "expires_at", "inviter", "invitee"])
    except DjangoValidationError as error:
        raise _invalid(error.message_dict) from None


@transaction.atomic
@audit.audited("invitation.cancel", target=audit.of("invitation", "invitation"))
def invitation_cancel(*, invitation: Invitation) -> Invitation:
    """A pending invitation stops working (its link and its referral code)."""
    if not Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=timezone.now()
    ):
        raise Conflict("Only an unused invitation can be cancelled.", code="invalid_status")
    ReferralCode.objects.filter(pk=invitation.referral_code_id).update(is_active=False)
    invitation.refresh_from_db()
    return invitation


def invitation_deliver(*, invitation_id: int) -> None:
    """Worker side of `invitation_create`: the link's secret is made here, stored as its hash
    (replacing a failed attempt's), and mailed; the raw value never reaches the broker."""
    raw = secrets.token_urlsafe(32)
    if not Invitation.objects.filter(_invitation_pending(), pk=invitation_id).update(digest=Invitation.digest_of(raw)):
        return  # cancelled, used or expired since it was queued
    invitation = Invitation.objects.select_related("inviter").get(pk=invitation_id)
    recipient = User(username="", display_name="", email=invitation.email)
    link = emails.absolute_url(f"{reverse('pages:signup')}?{urlencode({'invite': raw})}")
    emails.render(
        emails.INVITATION,
        user=recipient,
        link=link,
        invitation=invitation,
        days=max(1, settings.INVITATIONS_TTL // 86400),
    ).send()


def invitation_used_deliver(*, inviter_id: int, invitation_id: int) -> None:
    """Worker side of `emails.send_invitation_used`: tell the inviter."""
    invitation = Invitation.objects.select_related("invitee").filter(pk=invitation_id).first()
    inviter = User.objects.filter(pk=inviter_id).first()
    if invitation is None or inviter is None or invitation.invitee is None:
        return
    emails.render(emails.INVITATION_USED, user=inviter, invitation=invitation).send()


# --- Staff told by email too (a digest per window) --------------------------------------------

_DIGEST_SCHEDULED = "staff-digest:scheduled"


def staff_notice_record(*, kind: str, text: str) -> None:
    """Queue `text` for the staff's next digest email (in the caller's transaction).

    The first event of a window schedules the digest STAFF_DIGEST_WINDOW seconds later; the
    events after it just join the queue, so a burst of sign-ups makes one email. The periodic
    `send_staff_digest` (Celery beat) sends whatever a lost message left behind.
    """
    StaffNotice.objects.create(kind=kind, text=text[:1000])
    window = settings.STAFF_DIGEST_WINDOW
    if cache.add(_DIGEST_SCHEDULED, 1, timeout=window):
        outbox.enqueue("accounts.tasks.send_staff_digest", countdown=window)


def staff_digest_recipients() -> list[str]:
    """STAFF_NOTIFY_EMAILS, or else every active staff account's address."""
    if settings.STAFF_NOTIFY_EMAILS:
        return list(settings.STAFF_NOTIFY_EMAILS)
    staff = User.objects.filter(is_staff=True).exclude(status=User.Status.DISABLED).exclude(email="")
    return sorted(set(staff.values_list("email", flat=True)))


def staff_digest_send() -> int:
    """Send every queued notice in one email; how many it carried (0: nothing sent).

    The rows are claimed (sent_at) in the transaction that reads them, skipping rows another
    worker holds, so two digests never carry the same event.
    """
    recipients = staff_digest_recipients()
    with transaction.atomic():
        notices = list(
            StaffNotice.objects.select_for_update(skip_locked=True).filter(sent_at__isnull=True).order_by("id")
        )
        if not notices or not recipients:
            return 0
        StaffNotice.objects.filter(pk__in=[notice.pk for notice in notices]).update(sent_at=timezone.now())
    message = emails.render(
        emails.STAFF_DIGEST, user=User(email=recipients[0]), notices=notices, admin_url=emails.absolute_url("/admin/")
    )
    message.to = recipients
    message.send()
    return len(notices)


# --- The words staff control ------------------------------------------------------------------


@transaction.atomic
@audit.audited("site_settings.update", target=lambda _, __: "site_settings")
def site_settings_save(*, site_settings: SiteSettings) -> SiteSettings:
    """Save the single SiteSettings row; pages and emails use it once this commits."""
    site_settings.pk = SiteSettings.SINGLETON
    site_settings.full_clean()
    site_settings.save()
    transaction.on_commit(site.forget)
    return site_settings


# --- Members' self-service: password, email, sessions ------------------------------------------


class WrongPassword(ApplicationError):
    """A signed-in member's own password, asked again before a change, was wrong. Counted
    toward the same per-account lockout as a wrong login password."""

    code = "invalid_credentials"
    message = "The password is not right."


class PasswordTooWeak(ValidationFailed):
    code = "password_too_weak"
    message = "This password is too weak."


def password_confirmed(*, user: User, password: str, field: str) -> User:
    """The account's row, fresh from the database, once `password` proved to be its password.

    A fresh row: the signed-in user may be a cached copy without its password hash. Failures
    count toward the account's login lockout, and a locked account is refused (429) before
    anything is checked.
    """
    ident = _lockout_ident("", user)
    _check_lockout(ident)
    fresh = User.objects.select_related("tier").get(pk=user.pk)
    if not password_matches(user=fresh, password=password):
        _record_failure(ident)
        raise WrongPassword(fields={field: [WrongPassword.message]})
    cache.delete(_FAILURES_KEY.format(ident=ident))
    return fresh


def sessions_list(*, user: User) -> list[LoginSession]:
    """The member's live login sessions, most recently used first."""
    return list(login_sessions.sessions_alive(user=user))


def session_end(*, user: User, session_id: str) -> None:
    """End one of the member's sessions (NotFound for anyone else's, or an ended one)."""
    with transaction.atomic():
        login_sessions.session_end(user=user, session_id=session_id)


@transaction.atomic
@audit.audited(
    "user.session.end",
    target=lambda kwargs, _: f"user:{kwargs['session'].user.username}",
    detail=lambda kwargs, _: f"{kwargs['session'].get_kind_display()} session {kwargs['session'].public_id}",
)
def session_end_by_staff(*, session: LoginSession) -> None:
    """Staff end someone's login session (the admin): its refresh token and access tokens die
    at once. NotFound if it had ended already."""
    login_sessions.session_end(user=session.user, session_id=str(session.public_id))


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
    if password_errors := _password_errors(user=fresh, password=new_password):
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
    check, accounts.defences), and a link to the new address confirms it
    (ACCOUNTS_EMAIL_CHANGE_LIFETIME). The address stays the old one until then. An address
    any account uses is a 409 that does not say whose.
    """
    fresh = password_confirmed(user=user, password=password, field="password")
    address = normalize_email(email.strip())
    if address.lower() == fresh.email.lower():
        raise _invalid({"email": ["This already is your address."]})
    candidate = User(username=fresh.username, display_name=fresh.display_name, email=address)
    _judge(candidate, fields=["email"])
    if screen is not None:
        screen(email=address)
    if User.objects.filter(email__iexact=address).exists():
        raise Conflict("An account already uses this address.", code="email_taken")
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


def email_change_deliver(*, change_id: int) -> None:
    """Worker side of `user_request_email_change`: the link's secret is made here, stored as
    its hash, and mailed to the new address."""
    raw = secrets.token_urlsafe(32)
    pending = EmailChange.objects.filter(pk=change_id, confirmed_at__isnull=True, expires_at__gt=timezone.now())
    if not pending.update(digest=EmailChange.digest_of(raw)):
        return  # replaced, used or expired since it was queued
    change = EmailChange.objects.select_related("user").get(pk=change_id)
    recipient = User(username=change.user.username, display_name=change.user.display_name, email=change.new_email)
    link = emails.absolute_url(reverse("account:email-confirm", args=[raw]))
    emails.render(emails.EMAIL_CHANGE, user=recipient, link=link, change=change, hours=_hours()).send()


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
    if conflict := _email_in_use(user):
        raise Conflict("An account already uses this address.", code=conflict.code)
    try:
        with transaction.atomic():
            _user_save(user, fields=["email", "email_undeliverable_at", "email_undeliverable_reason"])
    except IntegrityError:
        raise Conflict("An account already uses this address.", code="email_taken") from None
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
    recipient = User(username=change.user.username, display_name=change.user.display_name, email=change.old_email)
    link = emails.absolute_url(reverse("account:email-undo", args=[raw]))
    emails.render(emails.EMAIL_CHANGED, user=recipient, link=link, change=change, hours=_hours()).send()


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
    if _email_in_use(user):
        raise Conflict("Another account uses that address now.", code="email_taken")
    user.revoke_tokens()
    try:
        with transaction.atomic():
            _user_save(user, fields=["email", "tokens_valid_after"], cutoff_moved=True)
    except IntegrityError:
        raise Conflict("Another account uses that address now.", code="email_taken") from None
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


def staff_notices_prune() -> int:
    """Delete staff notices that went out in a digest more than ACCOUNTS_SESSION_RETENTION ago
    (the email carried them; the admin's log keeps what staff did about them). Unsent ones stay."""
    before = timezone.now() - timedelta(seconds=settings.ACCOUNTS_SESSION_RETENTION)
    deleted, _ = StaffNotice.objects.filter(sent_at__lt=before).delete()
    return deleted


def sessions_prune() -> int:
    """Periodic clean-up (Celery beat): old ended sessions, dead email changes and staff notices
    sent long ago."""
    return login_sessions.sessions_prune() + email_changes_prune() + staff_notices_prune()
