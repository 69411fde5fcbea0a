"""The input rules of docs/api.md §6 match YunoHost's own patterns (docs/yunohost.md §1.1)."""

from __future__ import annotations

import itertools
import random
import re
import time

import pytest
from django.core.exceptions import ValidationError

from accounts import validators
from conftest import PASSWORD

YUNOHOST_FULLNAME = re.compile(r"^([^\W_]{1,30}[ ,.'-]{0,3})+$")


def test_display_name_check_accepts_exactly_what_yunohost_accepts():
    alphabet = "aZ9é_ ,.'-!\t"
    # Every string up to 5 characters over an alphabet with each class of character...
    for length in range(1, 6):
        for chars in itertools.product(alphabet, repeat=length):
            name = "".join(chars)
            assert validators.is_valid_display_name(name) == bool(YUNOHOST_FULLNAME.match(name)), name
    # ...and random longer ones.
    rng = random.Random(7)
    for _ in range(5000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(6, 14)))
        assert validators.is_valid_display_name(name) == bool(YUNOHOST_FULLNAME.match(name)), name


def test_display_name_check_is_linear_where_the_regex_backtracks():
    start = time.perf_counter()
    for _ in range(1000):
        validators.is_valid_display_name("a" * 29 + "!")
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("name", ["alice", "a", "a.b_c", "x" * 30, "user42", ".a", "_", "a.."])
def test_good_usernames(name):
    validators.validate_username(name)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Alice", "invalid"),
        ("", "invalid"),
        ("x" * 31, "invalid"),
        ("al ice", "invalid"),
        ("al-ice", "invalid"),
        ("alice\n", "invalid"),
        ("root", "reserved"),
        ("admins", "reserved"),
        ("all_users", "reserved"),
        ("visitors", "reserved"),
        ("postmaster", "reserved"),
        ("www-data", "invalid"),
        ("my_webapp", "reserved"),
        ("my_webapp__2", "reserved"),
        ("sftp.app", "reserved"),
        ("dovecot", "reserved"),
    ],
)
def test_bad_usernames(name, code):
    with pytest.raises(ValidationError) as error:
        validators.validate_username(name)
    assert error.value.code == code


@pytest.mark.parametrize("name", [".", "..", "...", "." * 30])
def test_usernames_made_only_of_dots_are_refused(name):
    # They would become paths on YunoHost: /home/.., a mail directory named "."
    with pytest.raises(ValidationError) as error:
        validators.validate_username(name)
    assert error.value.code == "invalid"
    assert error.value.message == "A username needs at least one letter, digit or underscore."


def test_the_register_api_refuses_a_username_of_dots(api_client, db, default_tier):
    body = {"username": "..", "display_name": "Dot", "email": "dot@example.org", "password": PASSWORD}

    response = api_client.post("/api/user/register", body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["username"] == ["A username needs at least one letter, digit or underscore."]


@pytest.mark.parametrize("value", ["ab", "some.name_1", "x" * 32])
def test_good_discord_names(value):
    validators.validate_discord_username(value)


@pytest.mark.parametrize("value", ["a", "x" * 33, "Upper", "two..dots", "with space", "émile"])
def test_bad_discord_names(value):
    with pytest.raises(ValidationError):
        validators.validate_discord_username(value)


def test_emails_keep_their_local_part_and_lower_their_domain():
    assert validators.normalize_email("  Jane.Doe@Example.ORG ") == "Jane.Doe@example.org"
