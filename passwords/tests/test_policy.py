"""The password policy: our own validators (characters, YunoHost's length limit) and the
strength meter, which runs the very validators the sign-up runs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from passwords import policy


def test_passwords_of_127_characters_are_too_long():
    policy.validate_password_length("a" * 126)
    with pytest.raises(ValidationError):
        policy.validate_password_length("a" * 127)


@pytest.mark.parametrize(
    "password", ["line\nbreak-in-a-passphrase", "tab\tin-a-long-passphrase", "nul\x00-in-a-long-passphrase"]
)
def test_passwords_with_control_characters_are_refused(password):
    with pytest.raises(ValidationError) as error:
        policy.validate_password_characters(password)
    assert error.value.code == "password_control_characters"
    assert policy.password_strength(password).strong is False


def test_quotes_semicolons_and_dollars_are_fine_in_passwords():
    policy.validate_password_characters("it's; $(not a shell) `ever` \\o/")


@pytest.mark.parametrize("password", ["short", "password1234", "purple-otter-sings-loudly-7"])
def test_password_strength_scores_once_and_agrees_with_the_policy(monkeypatch, password):
    from django.contrib.auth import password_validation

    calls = []
    real = policy.zxcvbn

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(policy, "zxcvbn", counting)
    strength = policy.password_strength(password)

    assert len(calls) == 1
    try:
        password_validation.validate_password(password)
        accepted = True
    except ValidationError:
        accepted = False
    assert strength.strong is accepted
