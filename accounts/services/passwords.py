"""Whether a new password is good enough: the password validators (AUTH_PASSWORD_VALIDATORS,
accounts/passwords.py) and YunoHost's length limit. (Who decides whether a password is the
account's is logins/passwords.py.)"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError

from ..models import User
from ..validators import validate_password_length


def _password_errors(*, user: User, password: str) -> list[str]:
    try:
        validate_password_length(password)  # cheap, and before anything hashes or scores it
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        return list(error.messages)
    return []
