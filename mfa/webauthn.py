"""Security keys and passkeys (WebAuthn) as a second factor, through django-otp-webauthn: each
registered credential is a django-otp device (`WebAuthnCredential`), so a session verified
with one is `is_verified()` like one verified with a TOTP code.

The ceremonies run in the browser only: the browser binds each signature to the page's origin,
which the server checks (WEBAUTHN_ALLOWED_ORIGINS, the relying party id WEBAUTHN_RP_ID). The
library's own views are not mounted: ours (mfa/views/webauthn.py, the admin's) know the
half-done page login and count failures like wrong codes (mfa/services.py).

No business rules here (who may add or remove a key, lockouts): mfa/services.py has them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.middleware import csrf
from django.urls import reverse
from django_otp_webauthn.exceptions import OTPWebAuthnApiError
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import ResidentKeyRequirement

from accounts.models import User

KEY_NAME = "Security key"
NAME_MAX = 64


class CeremonyFailed(Exception):
    """The browser's answer did not verify (wrong key, another account's key, a replayed or
    tampered answer, a stale challenge)."""


def rp_id() -> str:
    """The relying party id: WEBAUTHN_RP_ID, else the host of SITE_URL."""
    return settings.WEBAUTHN_RP_ID or (urlsplit(settings.SITE_URL).hostname or "localhost")


def allowed_origins() -> list[str]:
    """The origins whose pages may run a ceremony: WEBAUTHN_ALLOWED_ORIGINS, else SITE_URL's."""
    if settings.WEBAUTHN_ALLOWED_ORIGINS:
        return list(settings.WEBAUTHN_ALLOWED_ORIGINS)
    parts = urlsplit(settings.SITE_URL)
    return [f"{parts.scheme}://{parts.netloc}"]


class Helper(WebAuthnHelper):
    """The library's ceremony helper, configured from our settings when it runs (tests and
    deployments change SITE_URL; the library's own settings are read once)."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request=request or HttpRequest())

    def get_relying_party_domain(self) -> str:
        return rp_id()

    def get_relying_party_name(self) -> str:
        return str(settings.WEBAUTHN_RP_NAME)

    def get_allowed_origins(self) -> list[str]:
        return allowed_origins()

    def get_discoverable_credentials_preference(self) -> Any:
        # A second factor after the password: the server names the account's keys, so a key
        # need not spend its small memory on a discoverable credential.
        return ResidentKeyRequirement.DISCOURAGED


def keys(user: User) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at", "pk"))


def has_key(user: User) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def register_begin(user: User) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options for navigator.credentials.create() and the state to keep (in the session)."""
    options, state = Helper().register_begin(user=user)
    return options, state


def register_complete(user: User, *, state: dict[str, Any], data: Any, name: str) -> WebAuthnCredential:
    """Verify the browser's attestation and store the key, or CeremonyFailed."""
    try:
        with transaction.atomic(), rewrite_exceptions(logger=None):
            device = Helper().register_complete(user=user, state=state, data=data)
            device.name = name
            device.save(update_fields=["name"])
    except (OTPWebAuthnApiError, WebAuthnException, AttributeError, KeyError, TypeError, ValueError) as error:
        raise CeremonyFailed() from error
    return device


def authenticate_begin(user: User) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options for navigator.credentials.get() naming the account's keys, and the state."""
    options, state = Helper().authenticate_begin(user=user, require_user_verification=False)
    return options, state


def authenticate_complete(user: User, *, state: dict[str, Any], data: Any) -> WebAuthnCredential:
    """The account's key that signed this challenge (its signature counter moves on), or
    CeremonyFailed. The credential row is locked while it is checked."""
    try:
        with transaction.atomic(), rewrite_exceptions(logger=None):
            list(WebAuthnCredential.objects.select_for_update().filter(user=user).values_list("pk", flat=True))
            device = Helper().authenticate_complete(user=user, state=state, data=data)
    except (OTPWebAuthnApiError, WebAuthnException, AttributeError, KeyError, TypeError, ValueError) as error:
        raise CeremonyFailed() from error
    if not device.confirmed:
        raise CeremonyFailed()
    return device


def remove(user: User, key_id: int) -> bool:
    deleted, _ = WebAuthnCredential.objects.filter(user=user, pk=key_id).delete()
    return bool(deleted)


def remove_all(user: User) -> None:
    WebAuthnCredential.objects.filter(user=user).delete()


# --- The library's browser script -----------------------------------------------------------


def script_config(request: HttpRequest, *, begin: str, complete: str) -> dict[str, Any]:
    """What the library's script reads from the page (`json_script`: data, not code, so the
    Content-Security-Policy needs no exception): our endpoints, the CSRF token."""
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": csrf.get_token(request),
        "beginAuthenticationUrl": begin,
        "completeAuthenticationUrl": complete,
        "beginRegistrationUrl": begin,
        "completeRegistrationUrl": complete,
    }


def register_config(request: HttpRequest) -> dict[str, Any]:
    return script_config(request, begin=reverse("account:key-add-begin"), complete=reverse("account:key-add-complete"))


def login_config(request: HttpRequest) -> dict[str, Any]:
    return script_config(
        request, begin=reverse("account:login-key-begin"), complete=reverse("account:login-key-complete")
    )


def admin_config(request: HttpRequest, *, site_name: str) -> dict[str, Any]:
    return script_config(
        request,
        begin=reverse("admin:mfa-key-begin", current_app=site_name),
        complete=reverse("admin:mfa-key-complete", current_app=site_name),
    )
