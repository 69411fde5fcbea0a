"""What a member chooses for themselves that is no one else's business: the language they read."""

from __future__ import annotations

from django.utils.translation import gettext as _

from languages import i18n

from ..models import User
from .records import user_save, validation_failed


def user_set_language(*, user: User, language: str) -> None:
    """The language `user`'s emails speak, and their pages and API sentences when a request
    names none (languages/i18n.py): one of settings.LANGUAGES' codes."""
    if language not in i18n.codes():
        choices = ", ".join(i18n.codes())
        raise validation_failed({"language": [_("Choose one of: %(choices)s.") % {"choices": choices}]})
    if user.language != language:
        user.language = language
        user_save(user, fields=["language"])
