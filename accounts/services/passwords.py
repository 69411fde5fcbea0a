"""Whether a new password is good enough: the password validators (AUTH_PASSWORD_VALIDATORS,
passwords/policy.py) and YunoHost's length limit; and the password a signed-in member gives
again before a change or a deletion (`password_confirmed`). (Who decides whether a password is
the account's is logins/passwords.py.)"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy

from blahaj.errors import ApplicationError
from logins import lockout
from logins.passwords import password_matches
from passwords.policy import validate_password_length

from ..models import User


class WrongPassword(ApplicationError):
    """A signed-in member's own password, asked again before a change, was wrong. Counted
    toward the same per-account lockout as a wrong login password."""

    code = "invalid_credentials"
    message = gettext_lazy("The password is not right.")


def password_confirmed(*, user: User, password: str, field: str) -> User:
    """The account's row, fresh from the database, once `password` proved to be its password.

    A fresh row: the signed-in user may be a cached copy without its password hash. Failures
    count toward the account's login lockout, and a locked account is refused (429) before
    anything is checked.
    """
    ident = lockout.ident_for("", user)
    lockout.check(ident)
    fresh = User.objects.select_related("tier").get(pk=user.pk)
    if not password_matches(user=fresh, password=password):
        lockout.record_failure(ident)
        raise WrongPassword(fields={field: [str(WrongPassword.message)]})
    lockout.clear_failures(ident)
    return fresh


def password_validation_errors(*, user: User, password: str) -> list[str]:
    try:
        validate_password_length(password)  # cheap, and before anything hashes or scores it
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        return list(error.messages)
    return []
