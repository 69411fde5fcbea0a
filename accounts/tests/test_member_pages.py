"""The member pages' login and logout under /account/ (docs/api.md §4), driven by Django's test
client. The pages a signed-in member uses: selfservice/tests/test_member_pages.py."""

from __future__ import annotations

import pytest

from accounts.models import User
from conftest import PASSWORD, CommittingAPIClient, totp_code, totp_device
from logins.models import LoginSession

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"


def html(response) -> str:
    return response.content.decode()


def test_the_login_page_is_a_labelled_csrf_protected_form(web):
    page = html(web.get(f"{LOGIN}?next=/account/sessions/"))

    assert 'name="csrfmiddlewaretoken"' in page
    assert '<label for="id_identifier">' in page and '<label for="id_password">' in page
    assert 'autocomplete="current-password"' in page
    assert 'name="next" value="/account/sessions/"' in page


def test_logging_in_starts_a_page_session_and_goes_where_it_was_asked(web, user):
    response = web.post(LOGIN, {"identifier": "Alice@Example.org", "password": PASSWORD, "next": "/account/sessions/"})

    assert (response.status_code, response["Location"]) == (302, "/account/sessions/")
    session = LoginSession.objects.get(user=user)
    assert session.kind == LoginSession.Kind.PAGE and session.ended_at is None
    overview = html(web.get("/account/"))
    assert "alice@blahaj.land" in overview and "alice@example.org" in overview


def test_a_next_page_on_another_site_is_ignored(web, user):
    response = web.post(LOGIN, {"identifier": "alice", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/account/"


def test_a_wrong_password_is_401_with_the_error_on_the_form(web, user):
    response = web.post(LOGIN, {"identifier": "alice", "password": "wrong-password-x"})

    assert response.status_code == 401
    assert "Invalid username or password." in html(response)
    assert web.get("/account/").status_code == 302


def test_an_account_that_cannot_log_in_yet_is_told_why(web, make_user):
    make_user("dana", status=User.Status.PENDING_CONFIRMATION)

    response = web.post(LOGIN, {"identifier": "dana", "password": PASSWORD})

    assert response.status_code == 403
    assert "Please confirm your email address first" in html(response)


def test_the_page_login_shares_the_account_lockout_with_the_api(web, user, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        assert web.post(LOGIN, {"identifier": "alice", "password": "wrong-password-x"}).status_code == 401

    locked = web.post(LOGIN, {"identifier": "alice", "password": PASSWORD})
    api = CommittingAPIClient().post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json")

    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    # The account's lockout, said as such (not the network's rate limit).
    assert "This account is locked for a while" in html(locked) and "your network" not in html(locked)
    assert (api.status_code, api.json()["code"]) == (429, "too_many_attempts")


def test_the_page_login_shares_the_per_ip_failed_login_budget_with_the_api(web, make_user, rates):
    rates(login="2/min")
    for name in ("ghost1", "ghost2"):
        assert web.post(LOGIN, {"identifier": name, "password": "wrong-password-x"}).status_code == 401

    limited = web.post(LOGIN, {"identifier": "ghost3", "password": "wrong-password-x"})
    assert limited.status_code == 429
    assert "from your network" in html(limited) and "account is locked" not in html(limited)
    api = CommittingAPIClient().post("/api/user/login", {"username": "ghost4", "password": "x" * 12}, format="json")
    assert api.status_code == 429


def test_logging_out_ends_the_page_session(member, user):
    assert member.client.get("/account/logout/").status_code == 405

    response = member.post("/account/logout/")

    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert LoginSession.objects.get(user=user).ended_at is not None
    assert member.get("/account/").status_code == 302


def test_an_account_with_totp_gives_its_code_on_the_page_login_too(web, user):

    device = totp_device(user)
    response = web.post(LOGIN, {"identifier": "alice", "password": PASSWORD, "next": "/account/sessions/"})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/code/")
    # The password alone signs nobody in.
    assert web.get("/account/")["Location"].startswith("/account/login/")
    page = web.get(response["Location"])
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in html(page)

    wrong = web.post("/account/login/code/", {"code": "000000", "next": "/account/sessions/"})
    assert wrong.status_code == 400 and "The code is wrong" in html(wrong)
    right = web.post("/account/login/code/", {"code": totp_code(device), "next": "/account/sessions/"})
    assert (right.status_code, right["Location"]) == (302, "/account/sessions/")
    assert web.get("/account/").status_code == 200
    assert LoginSession.objects.filter(user=user, kind=LoginSession.Kind.PAGE, ended_at__isnull=True).count() == 1


def test_the_page_code_step_needs_a_password_first_and_counts_wrong_codes(web, user, settings):

    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3
    totp_device(user)
    assert web.get("/account/login/code/")["Location"] == "/account/login/"
    web.post(LOGIN, {"identifier": "alice", "password": PASSWORD})
    statuses = [web.post("/account/login/code/", {"code": "000000"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    # Locked out: the step is gone, and so is the password's way in.
    assert web.get("/account/login/code/")["Location"] == "/account/login/"
    assert web.post(LOGIN, {"identifier": "alice", "password": PASSWORD}).status_code == 429
