"""The server-rendered pages (docs/api.md §4): forms, errors next to fields, escaping, limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import User
from conftest import PASSWORD, login

from .conftest import STRONG, link_path

SIGNUP = "/signup/"


@pytest.fixture
def signup_form(signup_body) -> dict:
    return {**signup_body, "discord_username": "", "referral_code": ""}


def html(response) -> str:
    return response.content.decode()


def _input(page: str, name: str) -> str:
    """The <input> element of that field."""
    found = re.search(rf'<input [^>]*name="{name}"[^>]*>', page)
    assert found, f"no input named {name}"
    return found.group(0)


# --- sign-up -------------------------------------------------------------------------------


def test_the_signup_page_is_a_labelled_csrf_protected_form(web):
    response = web.get(SIGNUP)

    page = html(response)
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page
    for name in ("username", "display_name", "email", "password", "discord_username", "referral_code"):
        assert f'<label for="id_{name}">' in page
        assert f'id="id_{name}"' in page
    assert 'aria-describedby="id_username_helptext"' in page
    assert 'id="strength-hint" aria-live="polite"' in page
    assert "/static/accounts/strength.js" in page  # the live hint, on top of the plain form
    assert '<meta name="viewport"' in page
    # Websites are here now, not "later".
    assert "single sign-on to our apps and websites of your own." in page and "later, websites" not in page


def test_signing_up_leads_to_check_your_email(web, signup_form, mailoutbox):
    response = web.post(SIGNUP, signup_form)

    assert response.status_code == 302
    assert response["Location"] == "/signup/done/"
    assert "Check your email" in html(web.get(response["Location"]))
    assert User.objects.get(username="dana").status == User.Status.PENDING_CONFIRMATION
    assert link_path(mailoutbox[0]).startswith("/confirm/")


def test_field_errors_sit_next_to_their_fields(web, signup_form):
    response = web.post(SIGNUP, {**signup_form, "username": "Not Valid", "password": "password123"})

    page = html(response)
    assert response.status_code == 400
    assert re.search(r'<ul class="errorlist" id="id_username_error"><li>Use 1 to 30 lower-case', page)
    assert re.search(r'<ul class="errorlist" id="id_password_error"><li>This password is too common.', page)
    username_input = _input(page, "username")
    assert 'aria-invalid="true"' in username_input
    assert 'aria-describedby="id_username_helptext id_username_error"' in username_input
    assert "autofocus" in username_input  # the first field in error gets the focus
    assert "autofocus" not in _input(page, "password")
    # ...and again above the form, in an announced summary that links each error to its field.
    summary = re.search(r'<div class="error-summary" id="error-summary" role="alert">(.*?)</div>', page, re.S)
    assert summary is not None, page
    assert list(dict.fromkeys(re.findall(r"<a href=\"#(id_\w+)\">", summary.group(1)))) == [
        "id_username",
        "id_password",
    ]
    assert re.search(r'<a href="#id_username">Username: Use 1 to 30 lower-case', summary.group(1))
    assert 'value="Not Valid"' in page  # what was typed stays, except the password
    assert "password123" not in page
    assert not User.objects.exists()


def test_a_taken_username_is_shown_on_the_username_field(web, signup_form, user):
    response = web.post(SIGNUP, {**signup_form, "username": "alice"})

    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_username_error"><li>Username already taken</li></ul>' in html(response)


def test_a_bad_referral_code_is_shown_on_its_field(web, signup_form):
    response = web.post(SIGNUP, {**signup_form, "referral_code": "NOPE"})

    assert (
        '<ul class="errorlist" id="id_referral_code_error"><li>This referral code is invalid, expired or used up.</li></ul>'
        in html(response)
    )


@pytest.mark.parametrize("field", ["username", "display_name", "email", "discord_username", "referral_code"])
def test_markup_typed_into_a_field_comes_back_escaped(web, signup_form, field):
    markup = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    response = web.post(SIGNUP, {**signup_form, field: markup})

    page = html(response)
    assert response.status_code == 400
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_signup_page_says_when_registration_is_closed(web, signup_form, settings):
    settings.ACCOUNTS_REGISTRATION_OPEN = False

    shown = web.get(SIGNUP)
    posted = web.post(SIGNUP, signup_form)

    assert shown.status_code == posted.status_code == 403
    assert "Sign-ups are closed for now" in html(shown)
    assert not User.objects.exists()


def test_the_forms_need_their_csrf_token(default_tier, signup_form):
    client = Client(enforce_csrf_checks=True)

    assert client.post(SIGNUP, signup_form).status_code == 403
    assert client.post("/password-reset/", {"identifier": "alice"}).status_code == 403
    assert not User.objects.exists()


def test_signup_shares_the_register_limit_with_the_api(api, web, signup_body, signup_form, rates):
    rates(register="1/hour")
    assert (
        api.post("/api/user/register", {**signup_body, "username": "first", "email": "first@example.org"}).status_code
        == 201
    )

    response = web.post(SIGNUP, signup_form)

    assert response.status_code == 429
    assert "Too many tries" in html(response)
    assert "Please wait 60 minutes" in html(response)
    assert 3000 < int(response["Retry-After"]) <= 3600
    assert not User.objects.filter(username="dana").exists()


def test_only_get_and_post(web):
    response = web.client.put(SIGNUP)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


# --- confirmation --------------------------------------------------------------------------


def test_a_bad_confirmation_link_offers_a_new_one(web):
    response = web.get("/confirm/nonsense/")

    page = html(response)
    assert response.status_code == 400
    assert "This link is invalid" in page
    assert '<form method="post" action="/resend-confirmation/"' in page
    assert 'name="csrfmiddlewaretoken"' in page


# --- password reset ------------------------------------------------------------------------


@pytest.fixture
def reset_link(web, user, mailoutbox) -> str:
    response = web.post("/password-reset/", {"identifier": "alice"})
    assert response["Location"] == "/password-reset/sent/"
    return link_path(mailoutbox[-1])


def test_the_reset_request_answers_the_same_for_known_and_unknown(web, user, mailoutbox):
    known = web.post("/password-reset/", {"identifier": "alice@example.org"})
    unknown = web.post("/password-reset/", {"identifier": "nobody@example.org"})

    assert (
        (known.status_code, known["Location"])
        == (unknown.status_code, unknown["Location"])
        == (302, "/password-reset/sent/")
    )
    assert "If an account with that username or email exists" in html(web.get("/password-reset/sent/"))
    assert len(mailoutbox) == 1


def test_the_reset_request_needs_something(web):
    response = web.post("/password-reset/", {"identifier": ""})

    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_identifier_error"><li>This field is required.</li></ul>' in html(response)


def test_choosing_a_new_password_through_the_emailed_link(web, api, user, reset_link, mailoutbox):
    form = web.get(reset_link)
    assert form.status_code == 200
    assert "For the account <strong>alice</strong>" in html(form)
    assert 'autocomplete="new-password"' in html(form)

    done = web.post(reset_link, {"password": STRONG})

    assert done.status_code == 302
    assert done["Location"] == "/password-reset/done/"
    assert "Your password is changed" in html(web.get(done["Location"]))
    assert login(api.client, "alice", STRONG)["access"]
    assert mailoutbox[-1].subject == "Your blahaj.land password was changed"


def test_a_weak_new_password_is_refused_next_to_the_field(web, user, reset_link):
    response = web.post(reset_link, {"password": "password123"})

    assert response.status_code == 400
    assert 'id="id_password_error"' in html(response)
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    assert web.get(reset_link).status_code == 200  # the link still works


def test_a_used_reset_link_shows_the_invalid_link_page(web, user, reset_link):
    web.post(reset_link, {"password": STRONG})

    shown = web.get(reset_link)
    posted = web.post(reset_link, {"password": "another-" + STRONG})

    assert shown.status_code == posted.status_code == 400
    assert "This link is invalid" in html(shown)
    assert 'href="/password-reset/"' in html(shown)
    assert User.objects.get(pk=user.pk).check_password(STRONG)


def test_an_expired_reset_link_says_so(web, user, reset_link):
    with time_machine.travel(timezone.now() + timedelta(hours=2, seconds=1)):
        response = web.get(reset_link)

    assert response.status_code == 410
    assert "This link has expired" in html(response)


def test_the_reset_form_shares_the_email_limit_with_the_api(api, web, rates):
    rates(email="1/hour")
    api.post("/api/user/request-reset", {"username": "alice"})

    response = web.post("/password-reset/", {"identifier": "alice"})

    assert response.status_code == 429
    assert "Retry-After" in response
    assert "<h1>Too many tries</h1>" in response.content.decode()


# --- the seed's /password_reset ------------------------------------------------------------


def test_the_seed_password_reset_page_asks_for_the_account(web):
    response = web.get("/password_reset")

    assert response.status_code == 200
    assert "Reset your password" in html(response)
    assert 'name="identifier"' in html(response)


def test_the_seed_password_reset_page_with_a_token_sets_the_password(web, api, user, reset_link):
    token = reset_link.rstrip("/").rsplit("/", 1)[1]

    form = web.get(f"/password_reset?token={token}")
    done = web.post(f"/password_reset?token={token}", {"password": STRONG})

    assert form.status_code == 200
    assert "Choose a new password" in html(form)
    assert done["Location"] == "/password-reset/done/"
    assert login(api.client, "alice", STRONG)["access"]


def test_the_seed_password_reset_page_with_a_bad_token(web):
    response = web.get("/password_reset?token=nope")

    assert response.status_code == 400
    assert "This link is invalid" in html(response)
