"""Symmetric encryption for secrets kept at rest: a password on its way to YunoHost, the
second factor's TOTP secrets (mfa.models.AuthenticatorApp).

The keys are derived (HKDF) from DJANGO_SECRET_KEY and from each key of
DJANGO_SECRET_KEY_FALLBACKS (Django's SECRET_KEY_FALLBACKS): the current key encrypts, every
listed key decrypts, so a key rotation keeps stored secrets readable until `manage.py
reencrypt_secrets` has rewritten them under the new key (docs/deploy.md, "Rotating the secret
key"). A secret that no listed key opens raises SecretUnreadable: the operation that needs it
fails visibly instead of leaking."""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """The ciphertext was not made with the current key nor with a fallback key."""


@functools.lru_cache(maxsize=16)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"blahaj-secrets", info=b"fernet-v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _keys() -> MultiFernet:
    """The current key first (it encrypts), then the fallbacks (they only decrypt)."""
    secret_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(secret_key) for secret_key in dict.fromkeys(secret_keys)])


def encrypt(plaintext: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _keys().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("The secret cannot be decrypted with the current key nor a fallback key.") from None


def rotate(ciphertext: str) -> str:
    """The same secret encrypted under the current key (SecretUnreadable if no key opens it)."""
    try:
        return _keys().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("The secret cannot be decrypted with the current key nor a fallback key.") from None
