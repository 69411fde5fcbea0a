"""Django's authentication backend (the admin's login): the API's password check.

Django's ModelBackend would check the local hash only; this one asks `logins.services.user_authenticate`,
so both doors agree: YunoHost decides an active member's password, the lockout counts failures
and a locked or unreachable check is a refusal here (the admin's form says the password is wrong).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from blahaj.errors import ApplicationError, Forbidden
from logins import services

from .models import User


class YunohostPasswordBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = services.user_authenticate(identifier=username, password=password).user
        except (services.InvalidCredentials, Forbidden):
            return None  # a wrong password (counted), or an account that cannot log in
        except ApplicationError:
            raise PermissionDenied from None  # locked out, or YunoHost unreachable with "refuse"
        return user if self.user_can_authenticate(user) else None
