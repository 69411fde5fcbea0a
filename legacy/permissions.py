"""Who may call the legacy routes' one staff door, /create_user."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import User
from blahaj.permissions import IsStaff

from .service_accounts import may_create_users_via_legacy_routes


class IsStaffOrLegacyCreator(BasePermission):
    """/create_user: staff (as IsStaff), or an account with `accounts.create_user_via_legacy_routes`
    (the sign-up front end's service account)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (isinstance(user, User) and user.is_active):
            return False
        if user.is_staff:
            return IsStaff().has_permission(request, view)
        return may_create_users_via_legacy_routes(user)
