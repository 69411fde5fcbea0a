"""Account reads that the public endpoints answer with."""

from __future__ import annotations

from django.db.models import QuerySet

from passwords.policy import Strength, password_strength

from .models import User
from .validators import normalize_email


def user_email_exists(*, email: str) -> bool:
    """Whether an account has this recovery email (case-insensitively, like the constraint)."""
    return User.objects.filter(email__iexact=normalize_email(email)).exists()


def password_strength_for(*, password: str, username: str = "", email: str = "", display_name: str = "") -> Strength:
    """The registration policy's verdict, with the sign-up form's other fields as context."""
    applicant = User(username=username, email=normalize_email(email), display_name=display_name)
    return password_strength(password, user=applicant)


def user_username_exists(*, username: str) -> bool:
    """Whether an account has this username (usernames are stored lower-case)."""
    return User.objects.filter(username=username.strip().lower()).exists()


def users_matching(queryset: QuerySet[User], term: str) -> QuerySet[User]:
    """Accounts whose username, display name, email or Discord name contains `term`, in any
    case: the staff API's `?search=` and the admin's search box alike."""
    term = term.strip().lower()
    return queryset.filter(search_text__contains=term) if term else queryset
