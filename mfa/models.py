"""The second factor's devices (mfa/devices.py uses them; nothing else should).

django-otp's own TOTP and static devices kept the TOTP secret and the recovery codes in plain
text: whoever read a database dump could pass every staff member's second factor. These keep
the secret encrypted (blahaj.crypto, a key derived from DJANGO_SECRET_KEY) and the recovery
codes as SHA-256 only. Their tables keep the names they had in `accounts`, where they began.
"""

from __future__ import annotations

import hashlib
import logging
import time
from base64 import b32encode
from binascii import unhexlify
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from blahaj import crypto

logger = logging.getLogger(__name__)

_THROTTLE_FIELDS = ["throttling_failure_timestamp", "throttling_failure_count"]


def new_totp_secret() -> str:
    """A fresh TOTP secret (20 random bytes, as django-otp's), encrypted."""
    return crypto.encrypt(random_hex(20))


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP device (RFC 6238) like django-otp's TOTPDevice (same defaults: 30 s steps from
    t0 0, 6 digits, one step of tolerance, drift, `last_t` replay protection), whose secret is
    stored only as a Fernet ciphertext of its hex form.

    A secret that no configured key decrypts (the secret key changed without its fallback)
    accepts no code: the member falls back to recovery codes, or staff remove the device.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticator_apps")
    encrypted_secret = models.TextField(default=new_totp_secret, editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        db_table = "accounts_authenticatorapp"
        verbose_name = _("authenticator app")

    @property
    def bin_key(self) -> bytes:
        """The secret (crypto.SecretUnreadable if no configured key opens it)."""
        return unhexlify(crypto.decrypt(self.encrypted_secret).encode())

    def secret_readable(self) -> bool:
        try:
            self.bin_key  # noqa: B018 - decrypting is the check
        except crypto.SecretUnreadable:
            return False
        return True

    def verify_token(self, token: Any) -> bool:
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        verified = False
        try:
            key = self.bin_key
        except crypto.SecretUnreadable:
            logger.warning(
                "The TOTP secret of user id %s cannot be decrypted with the current or a fallback "
                "secret key: the device accepts no code.",
                self.user_id,
            )
            key = None
        if key is not None and str(token).isascii() and str(token).isdigit():
            totp = TOTP(key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = bool(totp.verify(int(token), self.tolerance, self.last_t + 1))
            if verified:
                self.last_t = totp.t()
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save(update_fields=[*_THROTTLE_FIELDS, "last_used_at", "last_t", "drift"])
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    @property
    def config_url(self) -> str:
        """The otpauth:// URL an authenticator app scans (issuer from OTP_TOTP_ISSUER)."""
        label = str(self.user.get_username())
        params = urlencode(
            {"secret": b32encode(self.bin_key), "algorithm": "SHA1", "digits": self.digits, "period": self.step}
        )
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        if issuer:
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{params}"


def recovery_code_digest(code: str) -> str:
    """The stored form of a recovery code: SHA-256 of its normalized form (no spaces or
    dashes, lower case). The codes are random (80 bits), so no salt is needed."""
    return hashlib.sha256("".join(code.split()).replace("-", "").lower().encode()).hexdigest()


class RecoveryCodes(TimestampMixin, ThrottlingMixin, Device):
    """An account's set of single-use recovery codes, as one django-otp device (what a session
    verified by a recovery code records). The codes are RecoveryCode rows: digests only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_code_sets")

    class Meta(Device.Meta):
        db_table = "accounts_recoverycodes"
        verbose_name = _("recovery code set")

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1))

    def verify_token(self, token: Any) -> bool:
        """Spend `token` if it is one of the set's unused codes: a conditional UPDATE, so of
        two requests with one code only one succeeds."""
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        spent = RecoveryCode.objects.filter(
            device=self, digest=recovery_code_digest(str(token)), used_at__isnull=True
        ).update(used_at=timezone.now())
        if spent:
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save(update_fields=[*_THROTTLE_FIELDS, "last_used_at"])
        else:
            self.throttle_increment()
        return bool(spent)


class RecoveryCode(models.Model):
    """One recovery code of a set, as its SHA-256 (recovery_code_digest); `used_at` once spent."""

    device = models.ForeignKey(RecoveryCodes, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_recoverycode"
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="recoverycode_device_digest")]

    def __str__(self) -> str:
        return f"Recovery code {self.pk} of set {self.device_id}"
