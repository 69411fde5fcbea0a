"""The account's row, shared by every flow: saving some of its columns (every cached copy
follows once that commits), moving its status, and judging its fields as a sign-up is judged."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _

import audit
from blahaj.errors import Conflict, ValidationFailed
from logins import tokens

from ..models import User

# The audit log's object for a service that takes `user=` (audit/recorder.py).
_USER = audit.of("user", "user", "username")


def validation_failed(fields: dict[str, list[str]]) -> ValidationFailed:
    # Same message rule as blahaj.exception_handler for serializer errors: one field, its own sentence.
    message = next(iter(fields.values()))[0] if len(fields) == 1 else None
    return ValidationFailed(message, fields=fields)


def user_save(user: User, *, fields: list[str], cutoff_moved: bool = False) -> None:
    """Save these columns of the user; once committed, every server process drops its cached
    copy and, if the token cut-off moved, hears of the new one (logins.tokens.user_saved)."""
    user.save(update_fields=fields)
    tokens.user_saved(user, cutoff_moved=cutoff_moved)


def _user_forget_after_commit(user_id: int) -> None:
    transaction.on_commit(lambda: tokens.forget_user(user_id))


def _user_move(user: User, *, from_statuses: tuple[str, ...], to: str) -> None:
    """Change the status only if it still is one of `from_statuses` (in a transaction).

    The row lock makes two concurrent moves (two staff members approving) take turns, and
    the second one sees the first one's status.
    """
    current = User.objects.select_for_update().values_list("status", flat=True).get(pk=user.pk)
    if current not in from_statuses:
        status = user.get_status_display().lower()
        raise Conflict(_("The account is no longer %(status)s.") % {"status": status}, code="invalid_status")
    user.status = to
    user_save(user, fields=["status"])


def user_judge(user: User, *, fields: list[str]) -> None:
    """Validate `fields` of `user` (field errors: 400), then uniqueness (409)."""
    others = [f.name for f in User._meta.fields if f.name not in fields]
    try:
        user.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        raise validation_failed(error.message_dict) from None


def email_in_use(user: User) -> Conflict | None:
    if User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists():
        return Conflict(_("Email already in use"), code="email_taken")
    return None


def username_lower_case(username: str) -> str:
    # YunoHost's rule. Refused rather than lowered: the person meant some name, and staff
    # should see that it is not the one that will exist.
    if username != username.lower():
        raise validation_failed({"username": [_("Usernames are lower case: use a-z, 0-9, dots and underscores only.")]})
    return username
