"""POST /api/user/email-exists and /api/user/password-strength (docs/api.md §1, §6)."""

from __future__ import annotations

import pytest

from conftest import PASSWORD

from .conftest import STRONG

EXISTS = "/api/user/email-exists"
STRENGTH = "/api/user/password-strength"


def test_email_exists_matches_the_recovery_email_case_insensitively(api, user):
    assert api.post(EXISTS, {"email": "ALICE@example.ORG"}).json() == {"exists": True}
    assert api.post(EXISTS, {"email": "nobody@example.org"}).json() == {"exists": False}


def test_email_exists_needs_a_valid_email(api):
    response = api.post(EXISTS, {"email": "alice"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"email": ["Enter a valid email address."]}


def test_a_strong_password_is_strong(api):
    response = api.post(STRENGTH, {"password": STRONG})

    assert response.status_code == 200
    assert response.json() == {"strong": True, "score": 4, "feedback": []}


def test_a_weak_password_gets_its_score_and_hints(api):
    body = api.post(STRENGTH, {"password": "password1"}).json()

    assert body["strong"] is False
    assert body["score"] <= 1
    assert "This password is too common." in body["feedback"]
    assert "This password is too short. It must contain at least 10 characters." in body["feedback"]


def test_strong_means_register_would_accept_it(api, signup_body):
    # Strong on its own, but made of the username: refused by register, so not strong here.
    password = "marigoldfalcon7"
    alone = api.post(STRENGTH, {"password": password}).json()
    with_name = api.post(STRENGTH, {"password": password, "username": "marigoldfalcon"}).json()
    register = api.post("/api/user/register", {**signup_body, "username": "marigoldfalcon", "password": password})

    assert alone["strong"] is True
    assert with_name["strong"] is False
    assert register.status_code == 400


def test_a_long_passphrase_is_scored_not_refused(api):
    body = api.post(STRENGTH, {"password": "quiet meadow lantern " * 5 + "x"}).json()  # 106 characters

    assert body["strong"] is True


def test_127_characters_is_too_long(api):
    body = api.post(STRENGTH, {"password": "a" * 127}).json()

    assert body == {"strong": False, "score": 0, "feedback": ["Use at most 126 characters."]}


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"username": "alice"}])
def test_password_strength_needs_a_password(api, body):
    response = api.post(STRENGTH, body)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["password"]


@pytest.mark.parametrize("path, body", [(EXISTS, {"email": "a@example.org"}), (STRENGTH, {"password": PASSWORD})])
def test_lookups_are_limited_per_ip(api, rates, path, body):
    rates(lookup="3/min")
    for _ in range(3):
        assert api.post(path, body).status_code == 200

    response = api.post(path, body)

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_lookup_budget_is_shared_by_both_lookups(api, rates):
    rates(lookup="1/min")
    assert api.post(EXISTS, {"email": "a@example.org"}).status_code == 200

    assert api.post(STRENGTH, {"password": PASSWORD}).status_code == 429
