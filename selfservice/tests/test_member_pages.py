"""The self-service member pages under /account/ (docs/api.md §4), driven by Django's test
client: the overview, the password, the email address and its links, the sessions."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from conftest import PASSWORD, CommittingAPIClient
from logins.models import LoginSession
from selfservice.models import EmailChange

from .conftest import STRONG

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"


def html(response) -> str:
    return response.content.decode()


def _csrf(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token in the form"
    return match.group(1)


def _api_login(username: str = "alice", password: str = PASSWORD) -> dict:
    response = CommittingAPIClient().post(
        "/api/user/login", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def _me_status(access: str) -> int:
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/user/me").status_code


@pytest.mark.parametrize("path", ["/account/", "/account/password/", "/account/email/", "/account/sessions/"])
def test_the_member_pages_ask_for_a_login_first(web, path):
    response = web.get(path)

    assert (response.status_code, response["Location"]) == (302, f"{LOGIN}?next={path}")


def test_the_forms_need_their_csrf_token(default_tier, user):
    browser = Client(enforce_csrf_checks=True)

    assert browser.post(LOGIN, {"identifier": "alice", "password": PASSWORD}).status_code == 403
    assert not LoginSession.objects.exists()
    token = _csrf(html(browser.get(LOGIN)))
    signed_in = browser.post(LOGIN, {"identifier": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert signed_in.status_code == 302
    for path, form in (
        ("/account/password/", {"current_password": PASSWORD, "new_password": STRONG}),
        ("/account/email/", {"email": "a@example.net", "password": PASSWORD}),
        ("/account/sessions/end-all/", {}),
        ("/account/logout/", {}),
    ):
        assert browser.post(path, form).status_code == 403, path
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not EmailChange.objects.exists()
    assert LoginSession.objects.get().ended_at is None


def test_what_a_member_typed_is_escaped(member, user):
    User.objects.filter(pk=user.pk).update(display_name="<script>alert(1)</script>")

    page = html(member.get("/account/"))

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_changing_the_password_on_the_page_keeps_this_browser_and_logs_out_the_others(member, user, mailoutbox):
    api = _api_login()

    response = member.post("/account/password/", {"current_password": PASSWORD, "new_password": STRONG})

    assert (response.status_code, response["Location"]) == (302, "/account/")
    assert "Your password is changed" in html(member.get("/account/"))
    assert _me_status(api["access"]) == 401
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert [m.subject for m in mailoutbox] == ["Your blahaj.land password was changed"]
    assert LoginSession.objects.filter(user=user, ended_at__isnull=True).get().kind == LoginSession.Kind.PAGE


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"current_password": "wrong-password-x", "new_password": STRONG}, "current_password", "not right"),
        ({"current_password": PASSWORD, "new_password": "alice12345"}, "new_password", "password"),
        ({"current_password": PASSWORD, "new_password": ""}, "new_password", "required"),
    ],
)
def test_a_refused_password_change_shows_the_error_next_to_its_field(member, user, form, field, message):
    response = member.post("/account/password/", form)

    page = html(response)
    assert response.status_code == 400
    errors = re.search(rf'id="id_{field}".*?<ul class="errorlist"[^>]*>(.*?)</ul>', page, re.S)
    assert errors is not None
    assert message in errors.group(1).lower()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_asking_for_a_new_email_on_the_page(member, user, mailoutbox):
    response = member.post("/account/email/", {"email": "alice.new@example.net", "password": PASSWORD})

    assert (response.status_code, response["Location"]) == (302, "/account/")
    assert "We sent a link to alice.new@example.net" in html(member.get("/account/"))
    assert [m.to for m in mailoutbox] == [["alice.new@example.net"]]


def test_an_address_in_use_is_shown_next_to_the_email_field(member, other_user, mailoutbox):
    response = member.post("/account/email/", {"email": "bob@example.org", "password": PASSWORD})

    assert response.status_code == 409
    assert re.search(r'id="id_email".*An account already uses this address', html(response), re.S)
    assert mailoutbox == []


def test_the_sessions_page_lists_and_ends_a_session(member, user):
    api = _api_login()
    sid = AccessToken(api["access"])["sid"]

    page = html(member.get("/account/sessions/"))
    assert "this browser" in page
    assert f"/account/sessions/{sid}/end/" in page

    response = member.post(f"/account/sessions/{sid}/end/")

    assert (response.status_code, response["Location"]) == (302, "/account/sessions/")
    assert "The session is ended" in html(member.get("/account/sessions/"))
    assert _me_status(api["access"]) == 401
    assert member.post(f"/account/sessions/{sid}/end/").status_code == 302  # already ended: said, not a 500
    assert "already ended" in html(member.get("/account/sessions/"))


def test_end_all_logs_out_everywhere_this_browser_too(member, user):
    api = _api_login()

    response = member.post("/account/sessions/end-all/")

    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert member.get("/account/").status_code == 302
    assert _me_status(api["access"]) == 401
    assert not LoginSession.objects.filter(user=user, ended_at__isnull=True).exists()


def test_a_page_session_ended_elsewhere_signs_that_browser_out(member, user):
    api = _api_login()
    page_session = LoginSession.objects.get(user=user, kind=LoginSession.Kind.PAGE)
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api['access']}")

    assert client.delete(f"/api/user/sessions/{page_session.public_id}").status_code == 204

    assert member.get("/account/")["Location"] == f"{LOGIN}?next=/account/"


def test_the_email_links_need_their_csrf_token_to_act(user, mailoutbox, tasks_inline):
    pair = _api_login()
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    client.post("/api/user/change-email", {"email": "alice.new@example.net", "password": PASSWORD}, format="json")
    path = mailoutbox[0].body.split("http://localhost:8000", 1)[1].split()[0]
    browser = Client(enforce_csrf_checks=True)

    page = html(browser.get(path))
    assert browser.post(path).status_code == 403
    user.refresh_from_db()
    assert user.email == "alice@example.org"
    assert browser.post(path, {"csrfmiddlewaretoken": _csrf(page)}).status_code == 200
    user.refresh_from_db()
    assert user.email == "alice.new@example.net"


def test_a_dead_email_link_says_so(web):
    assert web.get("/account/email/confirm/not-a-token/").status_code == 400
    assert web.get("/account/email/undo/not-a-token/").status_code == 400
