"""The second factor: the login's second step, setting TOTP up and taking it off, recovery
codes, security keys (WebAuthn: adding, using, removing), the admin session's step, and staff
taking a member's factor off.

A wrong code (or a security key's answer that does not verify) counts against the same per-account budget as a wrong password
(logins/lockout.py): past ACCOUNTS_LOGIN_MAX_FAILURES the account is locked out of
both for ACCOUNTS_LOGIN_LOCKOUT (429 too_many_attempts).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.models import Device

import audit
from accounts import services
from accounts.models import OneTimeToken, User
from accounts.services import one_time_token_check, one_time_token_issue, one_time_token_use
from blahaj.errors import ApplicationError, Conflict, Forbidden, NotFound, TooManyAttempts
from logins import lockout, sessions, tokens
from logins import services as logins
from logins.models import LoginSession

from . import devices, webauthn
from .models import AuthenticatorApp

logger = logging.getLogger(__name__)


class InvalidCode(logins.InvalidCredentials):
    """The login's second step: 401 like a wrong password (and counted like one per IP)."""

    code = "invalid_code"
    message = gettext_lazy("The code is wrong or was already used.")


class WrongCode(ApplicationError):
    """A signed-in caller's code (setup, new recovery codes, turning TOTP off) is wrong."""

    code = "invalid_code"
    message = gettext_lazy("The code is wrong or was already used.")

    def __init__(self) -> None:
        super().__init__(fields={"code": [str(self.message)]})


class WrongKey(ApplicationError):
    """A security key's answer did not verify (another key, another account's, a stale or
    replayed challenge): counted like a wrong code."""

    code = "invalid_key"
    message = gettext_lazy("The security key's answer could not be verified. Try again, or use a code.")


def _ident(user: User) -> str:
    return lockout.ident_for("", user)


def _spend_code(user: User, code: str, *, error: type[ApplicationError]) -> Device:
    """The device that accepted `code`, or a counted failure (and `error`, or 429 once over)."""
    ident = _ident(user)
    lockout.check(ident)
    device = devices.check_code(user, code)
    if device is None:
        lockout.record_failure(ident)
        lockout.check(ident)  # this failure may be the one that locks
        raise error()
    lockout.clear_failures(ident)
    return device


# --- The login's second step ---------------------------------------------------------------


def login_token_issue(user: User) -> str:
    """The login's answer to a right password when a second factor is due carries this
    short-lived one-time token (`mfa_token`), which `user_login_mfa` takes with a code
    (registered in logins.hooks)."""
    return one_time_token_issue(user=user, purpose=OneTimeToken.Purpose.MFA)


def user_login_mfa(*, mfa_token: str, code: str, ip: str | None = None, user_agent: str = "") -> dict[str, Any]:
    """Exchange the login's `mfa_token` and a TOTP or recovery code for the usual tokens,
    which record the second factor (`amr: ["pwd", "otp"]`).

    A wrong code leaves the mfa_token alive (the person may mistype), but counts like a wrong
    password; the lockout ends it. A used, unknown or expired mfa_token: 400 token_invalid / 410.
    """
    token = one_time_token_check(raw=mfa_token, purpose=OneTimeToken.Purpose.MFA)
    user = token.user
    if not logins.login_allowed(user):
        raise services.TokenInvalid()
    try:
        _spend_code(user, code, error=InvalidCode)
    except TooManyAttempts:
        OneTimeToken.objects.filter(pk=token.pk).delete()
        raise
    one_time_token_use(token)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    session = sessions.session_start(user=user, kind=LoginSession.Kind.API, ip=ip, user_agent=user_agent)
    return tokens.issue_for_user(user, session_id=str(session.public_id), factors=tokens.WITH_SECOND_FACTOR)


def session_verify(*, user: User, code: str) -> Device:
    """The admin's step after the password: the device to record in the session
    (django_otp.login), or WrongCode / 429, counted like the API's."""
    return _spend_code(user, code, error=WrongCode)


# --- Setting it up, and taking it off ------------------------------------------------------


@transaction.atomic
def totp_begin(*, user: User) -> devices.Enrolment:
    """An unconfirmed TOTP device: its secret, otpauth:// URL and QR code (SVG)."""
    User.objects.select_for_update().only("pk").get(pk=user.pk)
    if devices.has_totp(user):
        raise Conflict(
            _("An authenticator app is already set up. Turn it off first to use another one."),
            code="mfa_already_set_up",
        )
    return devices.enrolment(devices.totp_begin(user))


def totp_pending(*, user: User) -> devices.Enrolment | None:
    device = devices.pending_totp(user)
    return devices.enrolment(device) if device is not None else None


def totp_confirm(*, user: User, code: str, issue_tokens: bool = True) -> dict[str, Any]:
    """Confirm the device with its current code: recovery codes (shown once), and new tokens.

    Every token the account held before dies (they lack the factor); with `issue_tokens` (the
    API) the answer carries a fresh pair that has it, so the caller goes on without logging in
    again. The pages and the admin keep their session, which they mark verified themselves.
    """
    ident = _ident(user)
    lockout.check(ident)
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        if devices.pending_totp(user) is None:
            raise Conflict(_("Start the set-up first (POST /api/user/mfa/totp)."), code="mfa_not_started")
        if not devices.totp_confirm(user, code):
            confirmed = False
        else:
            confirmed = True
            codes = devices.recovery_codes_replace(user)
            logins.user_revoke_all_tokens(user=user)
    if confirmed:
        lockout.clear_failures(ident)
    else:
        lockout.record_failure(ident)
        lockout.check(ident)
        raise WrongCode()
    logger.info("Account %s turned TOTP on.", user.username)
    if not issue_tokens:
        return {"recovery_codes": codes}
    return {"recovery_codes": codes, **tokens.issue_for_user(user, factors=tokens.WITH_SECOND_FACTOR)}


def recovery_codes_renew(*, user: User, code: str) -> list[str]:
    """New recovery codes for a current TOTP code (or an unused recovery code)."""
    if not devices.has_totp(user):
        raise Conflict(_("Set up an authenticator app first."), code="mfa_not_set_up")
    _spend_code(user, code, error=WrongCode)
    with transaction.atomic():
        return devices.recovery_codes_replace(user)


def totp_remove(*, user: User, code: str = "", password: str = "") -> None:
    """Turn the authenticator app (and its recovery codes) off, proven by a code or the
    password. Staff may not while STAFF_REQUIRE_MFA, unless a security key remains."""
    if not devices.has_totp(user):
        raise Conflict(_("No authenticator app is set up."), code="mfa_not_set_up")
    if devices.staff_must_have_it(user) and not webauthn.has_key(user):
        raise Forbidden(_("Staff accounts must keep their second factor."), code="mfa_required_for_staff")
    if code:
        _spend_code(user, code, error=WrongCode)
    else:
        ident = _ident(user)
        lockout.check(ident)
        if not User.objects.get(pk=user.pk).check_password(password):
            lockout.record_failure(ident)
            lockout.check(ident)
            raise ApplicationError(
                _("The password is wrong."), code="invalid_password", fields={"password": [_("Wrong.")]}
            )
    with transaction.atomic():
        devices.remove_totp(user)
    logger.info("Account %s turned TOTP off.", user.username)


@transaction.atomic
def totp_enrol_demo_staff(*, user: User) -> AuthenticatorApp:
    """The development demo staff account's authenticator app, confirmed without a scan (the
    command `demo_staff_code` prints its current code); the same one across restarts.
    Development only: `ensure_demo_staff` refuses to run without DJANGO_DEBUG."""
    return devices.totp_confirmed_now(user)


# --- The secret key's rotation ------------------------------------------------------------------


def totp_secrets_reencrypt() -> tuple[int, int]:
    """Every stored TOTP secret encrypted again under the current DJANGO_SECRET_KEY (they may
    have been under a key now in DJANGO_SECRET_KEY_FALLBACKS): (rewritten, unreadable). A secret
    that no configured key opens is left alone and counted (its device accepts no code: the
    member uses a recovery code, or staff remove the second factor). One row at a time."""
    rewritten = unreadable = 0
    for device_id in devices.totp_device_ids():
        if devices.reencrypt_secret(device_id):
            rewritten += 1
        else:
            unreadable += 1
    with transaction.atomic():
        audit.record(
            action="mfa.secrets.reencrypt",
            object="totp:all",
            result=audit.Result.OK if not unreadable else audit.Result.FAILED,
            detail=f"{rewritten} rewritten, {unreadable} unreadable",
        )
    logger.info("TOTP secrets re-encrypted: %s rewritten, %s unreadable.", rewritten, unreadable)
    return rewritten, unreadable


# --- Security keys (WebAuthn) ---------------------------------------------------------------
# The ceremonies' state (the challenge) lives in the caller's session, which the views keep; a
# state is used once (the views pop it before completing).


def key_register_begin(*, user: User, session_verified: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options for the browser to create a key, and the state to keep. An account that has a
    second factor adds a key only from a session that passed it (else a stolen password would
    be enough to add the thief's key)."""
    if devices.has_second_factor(user) and not session_verified:
        raise Forbidden(_("Pass your second step first, then add a key."), code="mfa_required")
    return webauthn.register_begin(user)


def key_register_complete(
    *, user: User, state: dict[str, Any], data: Any, name: str = "", session_verified: bool
) -> Device:
    """Store the key the browser created (its attestation checked against the state)."""
    if devices.has_second_factor(user) and not session_verified:
        raise Forbidden(_("Pass your second step first, then add a key."), code="mfa_required")
    try:
        with transaction.atomic():
            User.objects.select_for_update().only("pk").get(pk=user.pk)
            name = " ".join(name.split())[: webauthn.NAME_MAX] or f"{webauthn.KEY_NAME} {len(webauthn.keys(user)) + 1}"
            device = webauthn.register_complete(user, state=state, data=data, name=name)
    except webauthn.CeremonyFailed:
        raise ApplicationError(
            _("The security key could not be added. Try again."), code="invalid_key_registration"
        ) from None
    logger.info("Account %s added a security key.", user.username)
    return device


def key_verify_begin(*, user: User) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options naming the account's keys for the browser to sign, and the state to keep."""
    lockout.check(_ident(user))
    if not webauthn.has_key(user):
        raise Conflict(_("This account has no security key."), code="no_security_key")
    return webauthn.authenticate_begin(user)


def key_verify(*, user: User, state: dict[str, Any] | None, data: Any) -> Device:
    """The key that signed the challenge (the login's second step or the admin's, like
    session_verify), or WrongKey counted like a wrong code / 429 once over."""
    ident = _ident(user)
    lockout.check(ident)
    try:
        if not state:
            raise webauthn.CeremonyFailed()
        device = webauthn.authenticate_complete(user, state=state, data=data)
    except webauthn.CeremonyFailed:
        lockout.record_failure(ident)
        lockout.check(ident)
        raise WrongKey() from None
    lockout.clear_failures(ident)
    return device


def key_remove(*, user: User, key_id: int, session_verified: bool) -> None:
    """A signed-in person removes one of their keys, from a session that passed the second step.
    Staff may not remove their last second factor while STAFF_REQUIRE_MFA."""
    if not session_verified:
        raise Forbidden(_("Pass your second step first, then remove a key."), code="mfa_required")
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        keys = {key.pk for key in webauthn.keys(user)}
        if key_id not in keys:
            raise NotFound(_("No such security key."), code="key_not_found")
        if devices.staff_must_have_it(user) and not devices.has_totp(user) and len(keys) == 1:
            raise Forbidden(_("Staff accounts must keep their second factor."), code="mfa_required_for_staff")
        webauthn.remove(user, key_id)
    logger.info("Account %s removed a security key.", user.username)


@transaction.atomic
@audit.audited("user.mfa.key.remove", target=audit.of("user", "user", "username"))
def key_remove_by_staff(*, user: User, key_id: int) -> None:
    """Staff remove one of a member's (or a colleague's) keys, e.g. one reported lost."""
    if not webauthn.remove(user, key_id):
        raise NotFound(_("No such security key."), code="key_not_found")
    logger.info("A security key of %s was removed by staff.", user.username)


@transaction.atomic
@audit.audited("user.mfa.remove", target=audit.of("user", "user", "username"))
def second_factor_remove_by_staff(*, user: User) -> None:
    """A lost authenticator (with its recovery codes, and every security key): staff take them
    off; every token of the account dies. Staff so reset set a new one up at their next login."""
    devices.remove_all(user)
    logins.user_revoke_all_tokens(user=user)
    logger.info("The second factor of %s was removed by staff.", user.username)
