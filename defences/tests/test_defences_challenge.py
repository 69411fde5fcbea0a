"""The sign-up challenge (ALTCHA proof of work) and the honeypot, on the page and the API."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import altcha
import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from defences import services

REGISTER = "/api/user/register"
CHALLENGE = "/api/user/challenge"
SIGNUP = "/signup/"


@pytest.fixture(autouse=True)
def challenge_on(settings):
    settings.SIGNUP_CHALLENGE = "altcha"
    settings.SIGNUP_CHALLENGE_API = True
    settings.SIGNUP_CHALLENGE_MAX_NUMBER = 5000


def solved(challenge: dict, *, number: int | None = None) -> str:
    """A payload as the browser sends it, solved with altcha's own solver."""
    if number is None:
        solution = altcha.solve_challenge_v1(
            challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
        )
        assert solution is not None
        number = solution.number
    payload = {key: challenge[key] for key in ("algorithm", "challenge", "salt", "signature")}
    return base64.b64encode(json.dumps({**payload, "number": number}).encode()).decode()


def fresh(api) -> dict:
    response = api.get(CHALLENGE)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return response.json()


def test_the_service_accepts_a_solved_challenge_once():
    payload = solved(services.challenge_create())

    services.challenge_verify(payload=payload)
    with pytest.raises(services.ChallengeFailed):
        services.challenge_verify(payload=payload)


@pytest.mark.parametrize(
    "payload",
    ["", "not base64!", base64.b64encode(b"[1, 2]").decode(), base64.b64encode(b'{"number": 1}').decode(), "A" * 3000],
)
def test_the_service_refuses_garbage(payload):
    with pytest.raises(services.ChallengeFailed):
        services.challenge_verify(payload=payload)


def test_the_service_refuses_a_wrong_number_and_another_key(settings):
    challenge = services.challenge_create()
    right = altcha.solve_challenge_v1(challenge["challenge"], challenge["salt"], "SHA-256", challenge["maxNumber"])
    assert right is not None
    with pytest.raises(services.ChallengeFailed):
        services.challenge_verify(payload=solved(challenge, number=right.number + 1))
    settings.SIGNUP_CHALLENGE_HMAC_KEY = "another key"
    with pytest.raises(services.ChallengeFailed):
        services.challenge_verify(payload=solved(challenge))


def test_the_service_refuses_an_expired_challenge(settings):
    payload = solved(services.challenge_create())
    later = timezone.now() + timedelta(seconds=settings.SIGNUP_CHALLENGE_LIFETIME + 1)
    with time_machine.travel(later), pytest.raises(services.ChallengeFailed):
        services.challenge_verify(payload=payload)


def test_the_api_asks_for_the_challenge_when_told(api, signup_body):
    for body in (signup_body, {**signup_body, "challenge": "bogus"}):
        response = api.post(REGISTER, body)
        assert response.status_code == 400
        assert response.json()["code"] == "challenge_failed"
    assert not User.objects.filter(username="dana").exists()

    payload = solved(fresh(api))
    response = api.post(REGISTER, {**signup_body, "challenge": payload})
    assert response.status_code == 201
    assert User.objects.filter(username="dana").exists()

    reused = api.post(REGISTER, {**signup_body, "username": "dana2", "email": "d2@example.org", "challenge": payload})
    assert reused.status_code == 400
    assert reused.json()["code"] == "challenge_failed"
    assert not User.objects.filter(username="dana2").exists()


def test_the_api_asks_for_nothing_by_default(api, signup_body, settings):
    settings.SIGNUP_CHALLENGE_API = False
    response = api.post(REGISTER, signup_body)
    assert response.status_code == 201
    assert User.objects.filter(username="dana").exists()


@pytest.fixture
def form(signup_body) -> dict:
    return {key: value for key, value in signup_body.items() if key != "accept_terms"}


def test_the_page_needs_a_solved_challenge(web, api, form, mailoutbox):
    page = web.get(SIGNUP)
    html = page.content.decode()
    assert 'data-challenge=""' in html and "accounts/altcha.js" in html
    assert "needs JavaScript" in html  # in <noscript>

    refused = web.post(SIGNUP, form)
    assert refused.status_code == 400
    assert "anti-robot check" in refused.content.decode()
    assert not User.objects.filter(username="dana").exists()

    response = web.post(SIGNUP, {**form, "challenge": solved(fresh(api))})
    assert response.status_code == 302
    assert response["Location"] == "/signup/done/"
    assert User.objects.filter(username="dana").exists()
    assert len(mailoutbox) == 1


def test_a_filled_honeypot_looks_like_a_success_and_makes_nothing(web, api, form, mailoutbox):
    response = web.post(SIGNUP, {**form, "challenge": solved(fresh(api)), "homepage": "http://spam.example"})
    assert response.status_code == 302
    assert response["Location"] == "/signup/done/"
    assert not User.objects.exists()
    assert mailoutbox == []


def test_with_the_challenge_off_the_page_has_none(web, form, settings):
    settings.SIGNUP_CHALLENGE = "off"
    html = web.get(SIGNUP).content.decode()
    assert "data-challenge" not in html and "altcha.js" not in html
    response = web.post(SIGNUP, form)
    assert response.status_code == 302
    assert User.objects.filter(username="dana").exists()
