"""Who may call what, beyond being signed in.

`IsStaff` is the one check of every staff route: a staff account whose token lacks the second
factor (STAFF_REQUIRE_MFA) is refused with `mfa_required`, or `mfa_setup_required` while it
has no device yet. `accounts.authentication.JWTAuthentication` applies the same rule to every
other route too (a staff token without the factor opens only the set-up routes and its own
token's life), and keeps service accounts to the routes that admit them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from . import mfa, tokens
from .models import User

SETUP_SENTENCE = "Set up an authenticator app first: POST /api/user/mfa/totp, then /api/user/mfa/totp/confirm."
LOGIN_SENTENCE = "Staff must log in with their second factor: log in again, then POST /api/user/login/mfa."


class Refused(PermissionDenied):
    """A 403 with the project's own `code` (raised from authentication too, where DRF
    expects its own exceptions)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.blahaj_code = code


SERVICE_ACCOUNT_SENTENCE = "A service account may only create accounts (/create_user) and manage its own tokens."


def mfa_refusal(user: Any, token: Any) -> Refused | None:
    """Why this staff token may not act as staff yet, or None."""
    if not (isinstance(user, User) and user.is_staff and settings.STAFF_REQUIRE_MFA):
        return None
    if tokens.has_second_factor(token):
        return None
    if mfa.has_second_factor(user):
        return Refused(LOGIN_SENTENCE, code="mfa_required")
    return Refused(SETUP_SENTENCE, code="mfa_setup_required")


def acts_as_staff(request: Request) -> bool:
    """For routes members use too: the caller is staff and its token may act as staff."""
    user = request.user
    return bool(isinstance(user, User) and user.is_staff and mfa_refusal(user, request.auth) is None)


class IsStaff(BasePermission):
    """Staff, with the second factor in the token when STAFF_REQUIRE_MFA (403 otherwise)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (isinstance(user, User) and user.is_staff and user.is_active):
            return False
        if refusal := mfa_refusal(user, request.auth):
            raise refusal
        return True
