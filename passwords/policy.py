"""The password policy of docs/api.md §6: Django's validators plus a zxcvbn score of at least 3,
and our own two (the characters a password may hold, YunoHost's length limit), which the
settings' AUTH_PASSWORD_VALIDATORS name.

`password_strength()` is what `POST /api/user/password-strength` answers, and it runs the
very validators `register` runs, so `strong: true` means exactly "register would accept it".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from zxcvbn import zxcvbn

from provisioning.passwords import MAX_PASSWORD as PASSWORD_MAX

MIN_SCORE = 3
ZXCVBN_MAX = 72  # zxcvbn refuses longer input (ValueError); longer passwords are scored by parts


def validate_password_characters(value: str) -> None:
    """YunoHost's `^.{3,}$` refuses a line break (the dot does not match it), and no control
    character belongs in a password typed by a person: refuse them at sign-up, not later."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValidationError(
            _("A password cannot contain line breaks, tabs or other control characters."),
            code="password_control_characters",
        )


def validate_password_length(value: str) -> None:
    """The cheap check that runs before anything hashes or scores the password."""
    if len(value) > PASSWORD_MAX:
        raise ValidationError(_("Use at most %(max)s characters.") % {"max": PASSWORD_MAX}, code="password_too_long")


def zxcvbn_score(password: str, user_inputs: list[str]) -> dict[str, Any]:
    """Score a password of any length.

    A password longer than zxcvbn's limit is scored by 72-character windows and keeps the
    best: the whole is at least as hard to guess as any of its parts, so a long passphrase is
    never refused merely for being long.
    """
    if len(password) <= ZXCVBN_MAX:
        return zxcvbn(password, user_inputs=user_inputs)
    starts = list(range(0, len(password) - ZXCVBN_MAX + 1, ZXCVBN_MAX))
    starts.append(len(password) - ZXCVBN_MAX)
    results = [zxcvbn(password[s : s + ZXCVBN_MAX], user_inputs=user_inputs) for s in starts]
    return max(results, key=lambda result: result["score"])


def _user_inputs(user: Any) -> list[str]:
    if user is None:
        return []
    values = [getattr(user, name, "") for name in ("username", "display_name", "email")]
    email = getattr(user, "email", "") or ""
    if "@" in email:
        values.append(email.split("@", 1)[0])
    return [value for value in values if value]


# zxcvbn's hints, in English only: marked here so that the catalogue carries their French, and
# `_hint` reads them in the request's language.
_ZXCVBN_HINTS = [
    gettext_noop("Use a few words, avoid common phrases."),
    gettext_noop("No need for symbols, digits, or uppercase letters."),
    gettext_noop("Add another word or two. Uncommon words are better."),
    gettext_noop("Straight rows of keys are easy to guess."),
    gettext_noop("Short keyboard patterns are easy to guess."),
    gettext_noop("Use a longer keyboard pattern with more turns."),
    gettext_noop('Repeats like "aaa" are easy to guess.'),
    gettext_noop('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    gettext_noop("Avoid repeated words and characters."),
    gettext_noop('Sequences like "abc" or "6543" are easy to guess.'),
    gettext_noop("Avoid sequences."),
    gettext_noop("Recent years are easy to guess."),
    gettext_noop("Avoid recent years."),
    gettext_noop("Avoid years that are associated with you."),
    gettext_noop("Dates are often easy to guess."),
    gettext_noop("Avoid dates and years that are associated with you."),
    gettext_noop("This is a top-10 common password."),
    gettext_noop("This is a top-100 common password."),
    gettext_noop("This is a very common password."),
    gettext_noop("This is similar to a commonly used password."),
    gettext_noop("A word by itself is easy to guess."),
    gettext_noop("Names and surnames by themselves are easy to guess."),
    gettext_noop("Common names and surnames are easy to guess."),
    gettext_noop("Capitalization doesn't help very much."),
    gettext_noop("All-uppercase is almost as easy to guess as all-lowercase."),
    gettext_noop("Reversed words aren't much harder to guess."),
    gettext_noop("Predictable substitutions like '@' instead of 'a' don't help very much."),
]


def _hint(text: str | None) -> str:
    """One of zxcvbn's hints in the request's language ("" for none)."""
    return _(text) if text else ""


class MaximumLengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        validate_password_length(password)

    def get_help_text(self) -> str:
        return _("Your password can be at most %(max)s characters long.") % {"max": PASSWORD_MAX}


class CharactersValidator:
    def validate(self, password: str, user: Any = None) -> None:
        validate_password_characters(password)

    def get_help_text(self) -> str:
        return _("Your password cannot contain line breaks or other control characters.")


class ZxcvbnValidator:
    def __init__(self, min_score: int = MIN_SCORE) -> None:
        self.min_score = min_score

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > PASSWORD_MAX:
            return  # MaximumLengthValidator says so; don't spend time scoring it
        self.judge(zxcvbn_score(password, _user_inputs(user)))

    def judge(self, result: dict[str, Any]) -> None:
        """Refuse a zxcvbn result below the minimum score."""
        if result["score"] < self.min_score:
            feedback = result["feedback"]
            hint = _hint(feedback.get("warning")) or " ".join(_hint(text) for text in feedback.get("suggestions", []))
            message = _("This password is too easy to guess.")
            raise ValidationError(f"{message} {hint}".strip(), code="password_too_weak")

    def get_help_text(self) -> str:
        return _("Your password must be hard to guess: a few unrelated words work well.")


@dataclass
class Strength:
    strong: bool
    score: int
    feedback: list[str] = field(default_factory=list)


def password_strength(password: str, *, user: Any = None) -> Strength:
    """Run the registration policy and report the score and every human hint."""
    try:
        validate_password_length(password)
    except ValidationError as error:
        return Strength(strong=False, score=0, feedback=list(error.messages))
    result = zxcvbn_score(password, _user_inputs(user))
    feedback: list[str] = []
    # The configured validators, as `register` runs them; zxcvbn's judges the result scored
    # above, so a request scores the password once.
    for validator in password_validation.get_default_password_validators():
        try:
            if isinstance(validator, ZxcvbnValidator):
                validator.judge(result)
            else:
                validator.validate(password, user)
        except ValidationError as error:
            feedback.extend(error.messages)
    strong = not feedback
    for hint in [
        _hint(text) for text in [result["feedback"].get("warning"), *result["feedback"].get("suggestions", [])]
    ]:
        if hint and not any(hint in message for message in feedback):
            feedback.append(hint)
    return Strength(strong=strong, score=result["score"], feedback=feedback)
