"""The second factor's devices (django-otp): per account, at most one TOTP device (an
authenticator app) and one set of recovery codes (a static device, each code single use), and
any number of security keys (WebAuthn credentials, accounts/webauthn.py).

No business rules here (who must have one, lockouts, tokens): accounts/services_mfa.py has them.
A TOTP code is accepted once: django-otp keeps the last accepted time step (`last_t`) and
refuses it and every earlier one; the row is locked while a code is checked, so two requests
with one code cannot both pass.
"""

from __future__ import annotations

from base64 import b32encode
from dataclasses import dataclass

import segno
from django.conf import settings
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import webauthn
from .models import User

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
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def code_methods(user: User) -> list[str]:
    """What the API's second step (codes only) can take from this account: nothing when its
    only factor is a security key, whose ceremony needs a browser."""
    return list(METHODS) if has_totp(user) else []


def staff_must_have_it(user: User) -> bool:
    return bool(user.is_staff and settings.STAFF_REQUIRE_MFA)


def _normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def check_code(user: User, code: str) -> Device | None:
    """The device that accepts `code` (a TOTP code not used before, or an unused recovery
    code, which is then spent), or None."""
    code = _normalized(code)
    if not code or len(code) > 16:
        return None
    with transaction.atomic():
        if code.isdigit() and len(code) == 6:
            totp = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            return totp if totp is not None and totp.verify_token(code) else None
        static = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        return static if static is not None and static.verify_token(code) else None


def enrolment(device: TOTPDevice) -> Enrolment:
    url = device.config_url
    return Enrolment(
        secret=b32encode(device.bin_key).decode(),
        otpauth_url=url,
        # An <svg> element: no script, no style attribute, so the pages' CSP allows it inline.
        qr_svg=segno.make(url, error="m").svg_inline(scale=4, border=2, title="TOTP QR code"),
    )


def confirmed_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def totp_begin(user: User) -> TOTPDevice:
    """A fresh unconfirmed TOTP device (an earlier unconfirmed one goes)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def totp_confirm(user: User, code: str) -> bool:
    """Confirm the pending device if `code` is its current one (the step is then spent)."""
    code = _normalized(code)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not (code.isdigit() and len(code) == 6) or not device.verify_token(code):
            return False
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return True


def recovery_codes_replace(user: User) -> list[str]:
    """New recovery codes; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def remove_totp(user: User) -> None:
    """The authenticator app and its recovery codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def remove_all(user: User) -> None:
    remove_totp(user)
    webauthn.remove_all(user)
