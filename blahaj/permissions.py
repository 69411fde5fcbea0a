"""Who may call what, beyond being signed in (every app's staff routes use `IsStaff`).

`IsStaff` is the one check of every staff route: a staff account whose token lacks the second
factor (STAFF_REQUIRE_MFA) is refused with `mfa_required`, or `mfa_setup_required` while it
has no device yet. `logins.authentication.JWTAuthentication` applies the same rule to every
other route too (a staff token without the factor opens only the set-up routes and its own
token's life), and keeps service accounts to the routes that admit them.

The second factor belongs to an app above this one (`mfa`): it registers, from its
AppConfig.ready(), how to tell that an account has one and that a token carries it
(`register_second_factor`). Nothing registered while STAFF_REQUIRE_MFA asks is a configuration
error, never a staff route opened without the factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

SETUP_SENTENCE = gettext_lazy(
    "Set up an authenticator app first: POST /api/user/mfa/totp, then /api/user/mfa/totp/confirm."
)
LOGIN_SENTENCE = gettext_lazy(
    "Staff must log in with their second factor: log in again, then POST /api/user/login/mfa."
)


class Refused(PermissionDenied):
    """A 403 with the project's own `code` (raised from authentication too, where DRF
    expects its own exceptions)."""

    def __init__(self, message: StrOrPromise, *, code: str) -> None:
        super().__init__(message)
        self.blahaj_code = code


SERVICE_ACCOUNT_SENTENCE = gettext_lazy(
    "A service account may only create accounts (/create_user) and manage its own tokens."
)


@dataclass(frozen=True)
class SecondFactor:
    user_has: Callable[[Any], bool]  # the account has a second factor set up
    token_has: Callable[[Any], bool]  # the token (request.auth) was issued after the second step


_second_factor: SecondFactor | None = None


def register_second_factor(*, user_has: Callable[[Any], bool], token_has: Callable[[Any], bool]) -> None:
    """Called once, by the app that owns the second factor (mfa.apps)."""
    global _second_factor
    _second_factor = SecondFactor(user_has=user_has, token_has=token_has)


def second_factor() -> SecondFactor:
    if _second_factor is None:
        raise ImproperlyConfigured("No app registered the second factor: put 'mfa' in INSTALLED_APPS.")
    return _second_factor


def _is_account(user: Any) -> bool:
    return isinstance(user, get_user_model())


def mfa_refusal(user: Any, token: Any) -> Refused | None:
    """Why this staff token may not act as staff yet, or None."""
    if not (_is_account(user) and user.is_staff and settings.STAFF_REQUIRE_MFA):
        return None
    factor = second_factor()
    if factor.token_has(token):
        return None
    if factor.user_has(user):
        return Refused(LOGIN_SENTENCE, code="mfa_required")
    return Refused(SETUP_SENTENCE, code="mfa_setup_required")


def acts_as_staff(request: Request) -> bool:
    """For routes members use too: the caller is staff and its token may act as staff."""
    user = request.user
    return bool(_is_account(user) and user.is_staff and mfa_refusal(user, request.auth) is None)


class IsStaff(BasePermission):
    """Staff, with the second factor in the token when STAFF_REQUIRE_MFA (403 otherwise)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (_is_account(user) and user.is_staff and user.is_active):
            return False
        if refusal := mfa_refusal(user, request.auth):
            raise refusal
        return True
