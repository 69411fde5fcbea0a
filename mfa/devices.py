"""The second factor's devices (django-otp devices of our own, mfa/models.py): per account,
at most one TOTP device (AuthenticatorApp, its secret encrypted at rest) and one set of recovery
codes (RecoveryCodes, each code single use and stored as its SHA-256 only), and any number of
security keys (WebAuthn credentials, mfa/webauthn.py).

No business rules here (who must have one, lockouts, tokens): mfa/services.py has them.
A TOTP code is accepted once: the device keeps the last accepted time step (`last_t`) and
refuses it and every earlier one; the row is locked while a code is checked, so two requests
with one code cannot both pass.
"""

from __future__ import annotations

import logging
import secrets
import time
from base64 import b32encode
from dataclasses import dataclass

import segno
from django.conf import settings
from django.db import transaction
from django_otp.models import Device
from django_otp.oath import TOTP

from accounts.models import User
from blahaj import crypto

from . import webauthn
from .models import AuthenticatorApp, RecoveryCode, RecoveryCodes, recovery_code_digest

logger = logging.getLogger(__name__)

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
METHODS = ["totp", "recovery_code"]


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_url: str
    qr_svg: str


def has_second_factor(user: User) -> bool:
    """The account has a confirmed TOTP device or a security key (recovery codes alone do not
    count)."""
    return has_totp(user) or webauthn.has_key(user)


def has_totp(user: User) -> bool:
    return AuthenticatorApp.objects.filter(user=user, confirmed=True).exists()


def code_methods(user: User) -> list[str]:
    """What the API's second step (codes only) can take from this account: nothing when its
    only factor is a security key, whose ceremony needs a browser."""
    return list(METHODS) if has_totp(user) else []


def staff_must_have_it(user: User) -> bool:
    return bool(user.is_staff and settings.STAFF_REQUIRE_MFA)


def _normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _six_digits(code: str) -> bool:
    # ASCII digits: str.isdigit() also takes "¹", which int() then refuses.
    return len(code) == 6 and code.isascii() and code.isdigit()


def check_code(user: User, code: str) -> Device | None:
    """The device that accepts `code` (a TOTP code not used before, or an unused recovery
    code, which is then spent), or None."""
    code = _normalized(code)
    if not code or len(code) > 16:
        return None
    with transaction.atomic():
        if _six_digits(code):
            totp = AuthenticatorApp.objects.select_for_update().filter(user=user, confirmed=True).first()
            return totp if totp is not None and totp.verify_token(code) else None
        codes = RecoveryCodes.objects.select_for_update().filter(user=user, confirmed=True).first()
        return codes if codes is not None and codes.verify_token(code) else None


def enrolment(device: AuthenticatorApp) -> Enrolment:
    url = device.config_url
    return Enrolment(
        secret=b32encode(device.bin_key).decode(),
        otpauth_url=url,
        # An <svg> element: no script, no style attribute, so the pages' CSP allows it inline.
        qr_svg=segno.make(url, error="m").svg_inline(scale=4, border=2, title="TOTP QR code"),
    )


def confirmed_totp(user: User) -> AuthenticatorApp | None:
    return AuthenticatorApp.objects.filter(user=user, confirmed=True).first()


def pending_totp(user: User) -> AuthenticatorApp | None:
    """The unconfirmed device, unless its secret became unreadable (a secret key changed without
    its fallback): then there is none, and the set-up starts anew."""
    device = AuthenticatorApp.objects.filter(user=user, confirmed=False).first()
    return device if device is not None and device.secret_readable() else None


def totp_begin(user: User) -> AuthenticatorApp:
    """A fresh unconfirmed TOTP device (an earlier unconfirmed one goes)."""
    AuthenticatorApp.objects.filter(user=user, confirmed=False).delete()
    return AuthenticatorApp.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def totp_confirm(user: User, code: str) -> bool:
    """Confirm the pending device if `code` is its current one (the step is then spent)."""
    code = _normalized(code)
    with transaction.atomic():
        device = AuthenticatorApp.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not _six_digits(code) or not device.verify_token(code):
            return False
        AuthenticatorApp.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return True


def totp_confirmed_now(user: User) -> AuthenticatorApp:
    """The account's confirmed TOTP device, made at once if it has none (or only one whose
    secret no configured key opens), without the code that confirms a device a person scans."""
    device = confirmed_totp(user)
    if device is not None and device.secret_readable():
        return device
    AuthenticatorApp.objects.filter(user=user).delete()
    return AuthenticatorApp.objects.create(user=user, name=TOTP_NAME, confirmed=True)


@dataclass(frozen=True)
class CurrentCode:
    code: str
    seconds_left: int  # before the next code
    used: bool  # accepted once already: the next one is needed


def current_code(device: AuthenticatorApp) -> CurrentCode:
    """The device's code of this time step (what an authenticator app shows now)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = time.time()
    totp.time = now
    left = device.step - int(now - device.t0) % device.step
    return CurrentCode(f"{totp.token():0{device.digits}d}", left, used=totp.t() <= device.last_t)


def new_recovery_code() -> str:
    """80 random bits, as 16 base32 letters and digits in four groups (`abcd-efgh-ijkl-mnop`);
    typed with or without the dashes and spaces, in either case."""
    letters = b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(letters[start : start + 4] for start in range(0, 16, 4))


def recovery_codes_replace(user: User) -> list[str]:
    """New recovery codes, returned this once (only their SHA-256 is kept); the old ones stop
    working."""
    RecoveryCodes.objects.filter(user=user).delete()
    device = RecoveryCodes.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes: list[str] = []
    while len(codes) < RECOVERY_CODES:
        code = new_recovery_code()
        if code not in codes:
            codes.append(code)
    RecoveryCode.objects.bulk_create([RecoveryCode(device=device, digest=recovery_code_digest(code)) for code in codes])
    return codes


def totp_device_ids() -> list[int]:
    return list(AuthenticatorApp.objects.order_by("pk").values_list("pk", flat=True))


def reencrypt_secret(device_id: int) -> bool:
    """Rewrite one device's secret under the current secret key (the row locked, so a code
    checked meanwhile neither reads the old ciphertext nor writes it back). False when no
    configured key opens it (left as it is); True when rewritten or gone meanwhile."""
    with transaction.atomic():
        device = AuthenticatorApp.objects.select_for_update().filter(pk=device_id).first()
        if device is None:
            return True
        try:
            rotated = crypto.rotate(device.encrypted_secret)
        except crypto.SecretUnreadable:
            logger.warning("The TOTP secret of user id %s cannot be decrypted: not re-encrypted.", device.user_id)
            return False
        AuthenticatorApp.objects.filter(pk=device_id).update(encrypted_secret=rotated)
    return True


def remove_totp(user: User) -> None:
    """The authenticator app and its recovery codes."""
    AuthenticatorApp.objects.filter(user=user).delete()
    RecoveryCodes.objects.filter(user=user).delete()


def remove_all(user: User) -> None:
    remove_totp(user)
    webauthn.remove_all(user)
