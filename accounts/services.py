"""Account business logic. Views, pages, the admin and tasks all call these functions."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
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

from blahaj import crypto, notifications
from blahaj.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    Gone,
    ServiceUnavailable,
    TooManyAttempts,
    ValidationFailed,
)
from blahaj.queueing import send_after_commit
from provisioning import passwords as yunohost_passwords
from provisioning.locks import lane_lock
from provisioning.models import Operation
from provisioning.yunohost import YunohostError, get_client
from tiers import services as tier_services
from tiers.models import ReferralCode, Tier

from . import emails, signals, site, tokens
from . import yunohost as lane
from .models import Invitation, OneTimeToken, SiteSettings, StaffNotice, User
from .validators import normalize_email, validate_password_length

logger = logging.getLogger(__name__)

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
        _unknown_user_check(password)
        _record_failure(ident)
        raise InvalidCredentials()
    if not _password_ok(user, password):
        _record_failure(ident)
        raise InvalidCredentials()
    cache.delete(_FAILURES_KEY.format(ident=ident))
    if user.status in _INACTIVE_ANSWERS:
        code, message = _INACTIVE_ANSWERS[user.status]
        raise Forbidden(message, code=code)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return tokens.issue_for_user(user)


def user_authenticate(*, identifier: str, password: str) -> User | None:
    """The user these credentials belong to, or None: Django's authentication backend (the
    admin's login) checks passwords here, exactly as `user_login` does, lockout included."""
    user = _find_login_user(identifier)
    ident = _lockout_ident(identifier, user)
    _check_lockout(ident)
    if user is None:
        _unknown_user_check(password)
        _record_failure(ident)
        return None
    if not _password_ok(user, password):
        _record_failure(ident)
        return None
    cache.delete(_FAILURES_KEY.format(ident=ident))
    return user


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


def _yunohost_decides(username: str, password: str) -> bool | None:
    """YunoHost's answer, or None when the local hash decides (not asked, or unreachable)."""
    verdict = yunohost_passwords.check_password(username, password)
    if verdict is yunohost_passwords.Verdict.UNREACHABLE:
        if settings.YUNOHOST_PASSWORD_UNREACHABLE == "refuse":  # noqa: S105 - a setting's value, no secret
            raise YunohostUnreachable()
        logger.warning("YunoHost could not check a password; the local hash decides for %s", username)
        return None
    if verdict is yunohost_passwords.Verdict.UNDECIDED:
        return None
    return verdict is yunohost_passwords.Verdict.ACCEPTED


def _password_ok(user: User, password: str) -> bool:
    local = user.check_password(password)
    if user.status != User.Status.ACTIVE:
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
    _yunohost_decides(_NOBODY, password)


@transaction.atomic
def user_adopt_yunohost_password(*, user: User, password: str) -> None:
    """The member changed their password on YunoHost: the local hash follows and every earlier
    token stops working. Nothing goes to the lane: YunoHost has this password already."""
    user.set_password(password)
    _user_save(user, fields=["password", "tokens_valid_after"], cutoff_moved=True)


def token_refresh(*, raw_refresh: str) -> dict[str, Any]:
    refresh = tokens.parse_refresh(raw_refresh)
    user_id = refresh.payload.get("user_id")
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
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
def user_revoke_all_tokens(*, user: User) -> None:
    """Every token issued so far stops working (logout everywhere)."""
    user.revoke_tokens()
    _user_save(user, fields=["tokens_valid_after"], cutoff_moved=True)


@transaction.atomic
def user_set_password(*, user: User, password: str) -> None:
    """Change the password here and on YunoHost; every earlier token stops working.

    `User.set_password` moves the token cut-off forward.
    """
    user.set_password(password)
    _user_save(user, fields=["password", "tokens_valid_after"], cutoff_moved=True)
    lane.account_set_password(user=user, password=password)


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete the account here and queue `yunohost user delete` (home and mail too).

    The operation carries the username, so it runs after the row is gone.
    """
    user_id = user.pk
    lane.account_delete(user=user)
    user.delete()
    _user_forget_after_commit(user_id)


@transaction.atomic
def user_disable(*, user: User) -> None:
    """The account can no longer log in, and every token it holds dies.

    YunoHost has no "disabled" flag: its user gets a fresh random password nobody knows
    (`user update`, through the lane), so mail, SSO and SFTP logins stop there too.
    `user_enable` mails the owner a reset link to choose a new password on both sides.
    """
    user.status = User.Status.DISABLED
    user.revoke_tokens()
    _user_save(user, fields=["status", "tokens_valid_after"], cutoff_moved=True)
    lane.account_lock(user=user)
    signals.user_disabled.send(sender=User, user=user)


@transaction.atomic
def user_set_roles(*, user: User, is_staff: bool, is_superuser: bool) -> None:
    """Staff status and superuser status, as the admin's change form sets them."""
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
}
# The emails that carry a link, and the purpose of the token in that link.
_LINK_PURPOSES = {
    emails.CONFIRMATION: OneTimeToken.Purpose.CONFIRM,
    emails.PASSWORD_RESET: OneTimeToken.Purpose.RESET,
    emails.SET_PASSWORD: OneTimeToken.Purpose.RESET,
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


def _taken(user: User) -> Conflict | None:
    if User.objects.filter(username=user.username).exists():
        return Conflict("Username already taken", code="username_taken")
    if User.objects.filter(email__iexact=user.email).exists():
        return Conflict("Email already registered", code="email_taken")
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
    if conflict := _taken(user):
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
    lifetime = timedelta(seconds=getattr(settings, _TOKEN_LIFETIME_SETTINGS[purpose]))
    with transaction.atomic():
        # Serialises two issues for one user, so exactly one token of a purpose stays alive.
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        OneTimeToken.objects.filter(user=user, purpose=purpose).delete()
        OneTimeToken.objects.create(
            user=user,
            purpose=purpose,
            digest=OneTimeToken.digest_of(raw),
            created_at=now,
            expires_at=now + lifetime,
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
    send_after_commit("accounts.tasks.resend_confirmation_to", email)


def user_request_password_reset(*, identifier: str) -> None:
    """Mail a reset link to the account with this email or username, if there is one.

    Like `user_request_confirmation`, the lookup happens in the worker.
    """
    send_after_commit("accounts.tasks.send_password_reset_to", identifier)


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
    fixed the cause."""
    notifications.provisioning_failed(
        username=operation.args.get("username", operation.subject),
        operation_id=operation.pk,
        attempts=operation.attempts,
        error=operation.error,
    )
    staff_notice_record(
        kind=StaffNotice.Kind.PROVISIONING_FAILED,
        text=f"The YunoHost account of {operation.args.get('username', operation.subject)} could not be created "
        f"(operation #{operation.pk}): {operation.error}",
    )
    if operation.user_id is None:
        return  # the account was deleted meanwhile
    if User.objects.filter(pk=operation.user_id, status=User.Status.PROVISIONING).update(
        status=User.Status.PROVISIONING_FAILED
    ):
        _user_forget_after_commit(operation.user_id)


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
    if conflict := _taken(user):
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
def user_create_by_staff(
    *,
    username: str,
    display_name: str,
    email: str,
    discord_username: str = "",
    tier: Tier | None = None,
    actor: User | None = None,
) -> User:
    """Create a confirmed account on staff's word: provisioning starts at once, and the owner
    gets a one-time link to choose the password.

    No password exists until then: the YunoHost account is created with a random one (the
    lane's rule for an account without a sign-up password), replaced when the owner picks one.
    Approval does not apply: staff created it. Neither does the public sign-up limit.
    """
    user = _new_staff_user(
        username=username, display_name=display_name, email=email, discord_username=discord_username, tier=tier
    )
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise _taken(user) or Conflict("Please try again.", code="conflict") from None
    user_begin_provisioning(user=user)
    emails.send_set_password(user=user)
    logger.info("Account %s created by %s.", user.username, actor.username if actor else "staff")
    return user


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


def user_send_password_reset(*, user: User) -> None:
    """Staff send the owner a reset link (queued)."""
    if user.status == User.Status.DISABLED:
        raise Conflict("A disabled account cannot reset its password.", code="account_disabled")
    emails.send_password_reset(user=user)


@transaction.atomic
def user_reject(*, user: User, reason: str = "") -> None:
    """Staff turn a sign-up down (approval mode): the applicant is told, the account deleted.

    Deleted rather than kept in some status: the name and address are free again, and we keep
    no data about someone who never got an account. Nothing exists on YunoHost yet.
    """
    current = User.objects.select_for_update().values_list("status", flat=True).get(pk=user.pk)
    if current != User.Status.PENDING_APPROVAL:
        raise Conflict("Only an account waiting for approval can be rejected.", code="invalid_status")
    emails.send_rejected(user=user, reason=reason.strip())
    user_delete(user=user)


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


def _yunohost_users() -> dict[str, dict[str, Any]]:
    """`user list`, read while holding the lane: no operation of ours runs meanwhile."""
    lock = lane_lock()
    if not lock.acquire(wait=settings.YUNOHOST_LANE_WAIT):
        raise LaneBusy()
    try:
        return get_client().user_list()
    except YunohostError as error:
        raise ApplicationError(f"YunoHost could not list its users: {error}", code="yunohost_error") from None
    finally:
        lock.release()


def _imported_user(username: str, info: dict[str, Any]) -> User:
    # The recovery email is unknown to YunoHost: the account's own mailbox stands in for it
    # (a reset link then reaches the person through their blahaj.land mail).
    mail = info.get("mail") or f"{username}@{settings.YUNOHOST_DOMAIN}"
    user = User(
        username=username,
        display_name=(info.get("fullname") or username).strip()[:30],
        email=normalize_email(mail),
        status=User.Status.ACTIVE,
        confirmed_at=timezone.now(),
        tier_id=User.objects.default_tier_id(),
    )
    _judge(user, fields=["username", "display_name", "email"])
    if conflict := _email_in_use(user):
        raise conflict
    user.set_unusable_password()  # YunoHost has the password; a reset sets ours (and theirs)
    return user


def users_import_from_yunohost(*, dry_run: bool = False) -> ImportSummary:
    """Create, as active accounts, the YunoHost users we have no account for. Idempotent."""
    summary = ImportSummary()
    known = set(User.objects.values_list("username", flat=True))
    for username, info in sorted(_yunohost_users().items()):
        if username in known:
            summary.already_there.append(username)
            continue
        try:
            user = _imported_user(username, info)
            if not dry_run:
                with transaction.atomic():
                    user.save()
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
    send_after_commit("accounts.tasks.send_invitation", invitation.pk)
    return invitation


def _judge_invitation(invitation: Invitation) -> None:
    try:
        invitation.full_clean(exclude=["referral_code", "expires_at", "inviter", "invitee"])
    except DjangoValidationError as error:
        raise _invalid(error.message_dict) from None


@transaction.atomic
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
        send_after_commit("accounts.tasks.send_staff_digest", countdown=window)


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
def site_settings_save(*, site_settings: SiteSettings) -> SiteSettings:
    """Save the single SiteSettings row; pages and emails use it once this commits."""
    site_settings.pk = SiteSettings.SINGLETON
    site_settings.full_clean()
    site_settings.save()
    transaction.on_commit(site.forget)
    return site_settings
