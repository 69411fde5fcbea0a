"""The legacy routes at the root (the HTTP contract, docs/api.md §2), tested the way
blahaj.land's sign-up front end uses them: its server logs in with a staff service account
for each sign-up, posts the form to /create_user, and shows only the status and `error`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import yunohost as lane
from accounts.models import OneTimeToken, User
from accounts.tests.conftest import STRONG, link_path, link_token
from conftest import FRONT_END_FORM, PASSWORD, legacy_login
from provisioning.models import Operation

# --- /login --------------------------------------------------------------------------------


def test_login_answers_the_seeds_token_names(api_client, user):
    response = legacy_login(api_client, "alice")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "access_expires_in", "refresh_expires_in"}
    assert (body["access_expires_in"], body["refresh_expires_in"]) == (900, 86400)
    me = APIClient(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").get("/api/user/me")
    assert me.json()["username"] == "alice"


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_a_bad_login_is_the_seeds_401(api_client, user, username):
    response = legacy_login(api_client, username, "wrong-password-x")

    assert response.status_code == 401
    assert response.json() == {
        "msg": "Bad username or password",
        "error": "Invalid username or password.",
        "code": "invalid_credentials",
    }


def test_login_locks_the_username_like_the_api(api_client, user):
    for _ in range(5):
        assert legacy_login(api_client, "alice", "wrong-password-x").status_code == 401

    response = legacy_login(api_client, "alice")

    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert "Retry-After" in response


@pytest.mark.parametrize("path", ["/login", "/api/user/login"])
def test_a_hundred_successful_logins_from_one_address_all_succeed(api_client, user, path):
    statuses = {
        api_client.post(path, {"username": "alice", "password": PASSWORD}, format="json").status_code
        for _ in range(100)
    }

    assert statuses == {200}


@pytest.mark.parametrize("path", ["/login", "/api/user/login"])
def test_the_twenty_first_failed_login_in_a_minute_is_refused(api_client, user, path):
    # Twenty names: the per-account lockout (5 failures) never starts; the per-IP limit does.
    for n in range(20):
        response = api_client.post(path, {"username": f"ghost{n}", "password": "wrong-password-x"}, format="json")
        assert response.status_code == 401

    response = api_client.post(path, {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert (
        APIClient(REMOTE_ADDR="10.9.8.7")
        .post(path, {"username": "alice", "password": PASSWORD}, format="json")
        .status_code
        == 200
    )


def test_login_and_api_login_share_the_failure_budget(api_client, user):
    for n in range(10):
        legacy_login(api_client, f"ghost{n}", "wrong-password-x")
        api_client.post("/api/user/login", {"username": f"spook{n}", "password": "wrong-password-x"}, format="json")

    assert legacy_login(api_client, "alice").status_code == 429


def test_login_without_a_password_names_the_field(api_client):
    response = api_client.post("/login", {"username": "alice"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "Password: this field is required."


# --- /create_user --------------------------------------------------------------------------


def test_create_user_is_exactly_201_and_queues_the_yunohost_account(front_end, mailoutbox):
    response = front_end()

    assert response.status_code == 201
    assert response.json() == {"message": "User created successfully"}
    dana = User.objects.get(username="dana")
    assert (dana.display_name, dana.email, dana.discord_username) == ("Dana Scully", "dana@example.org", "dana.s")
    assert dana.status == User.Status.PROVISIONING
    assert dana.confirmed_at is not None
    assert not dana.has_usable_password()
    assert dana.pending_password == ""
    operation = Operation.objects.get(subject="user:dana")
    assert (operation.kind, operation.status, operation.args["fullname"]) == ("user.create", "pending", "Dana Scully")
    assert operation.secret_args  # a random password, encrypted: the owner chooses theirs by email


def test_the_new_user_chooses_a_password_through_the_emailed_link(service_account, api, web, mailoutbox, monkeypatch):
    passwords: list = []
    monkeypatch.setattr(lane, "account_set_password", lambda *, user, password: passwords.append(user.username))
    tokens = api.post("/login", {"username": "signup_frontend", "password": PASSWORD}).json()
    api.client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    assert api.post("/create_user", FRONT_END_FORM).status_code == 201

    # The lane ran in this process too: the account is ready, and its welcome, which comes after
    # the link, says how to get in.
    message, welcome = mailoutbox
    assert welcome.subject == "Your blahaj.land account is ready"
    assert "choose your password with the link" in welcome.body
    assert message.to == ["dana@example.org"]
    assert message.subject == "Choose the password of your blahaj.land account"
    assert "dana@blahaj.land" in message.body
    page = web.get(link_path(message))
    assert page.status_code == 200
    done = web.post(link_path(message), {"password": STRONG, "password_confirm": STRONG})
    assert done.status_code == 302, done.content
    assert passwords == ["dana"]
    assert legacy_login(APIClient(), "dana", STRONG).status_code == 200
    assert User.objects.get(username="dana").check_password(STRONG)


@pytest.mark.django_db(transaction=True)
def test_the_link_to_choose_the_password_comes_before_the_welcome(front_end, tasks_inline, mailoutbox):
    # Real commits, as on the embedded defaults: the lane runs the YunoHost account's creation
    # as the request commits, and its outcome queues the welcome there and then.
    assert front_end().status_code == 201

    assert User.objects.get(username="dana").status == User.Status.ACTIVE
    assert [m.subject for m in mailoutbox] == [
        "Choose the password of your blahaj.land account",
        "Your blahaj.land account is ready",
    ]


def test_no_password_is_ever_generated_into_the_email(front_end, api, service_account, mailoutbox):
    tokens = api.post("/login", {"username": "signup_frontend", "password": PASSWORD}).json()
    api.client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    api.post("/create_user", FRONT_END_FORM)

    message = next(m for m in mailoutbox if m.subject.startswith("Choose the password"))
    assert "password:" not in message.body.lower()
    assert link_token(message) not in (OneTimeToken.objects.values_list("digest", flat=True))
    assert OneTimeToken.objects.get(user__username="dana").purpose == OneTimeToken.Purpose.RESET


def test_a_taken_username_is_432(front_end, user):
    response = front_end(username="alice")

    assert response.status_code == 432
    assert response.json() == {"error": "Username already taken", "code": "username_taken"}


def test_an_email_in_use_is_409(front_end, user):
    response = front_end(recovery_email="ALICE@example.org")

    assert response.status_code == 409
    assert response.json() == {"error": "Email already in use", "code": "email_taken"}


def test_input_is_normalized_before_it_is_judged(front_end):
    response = front_end(
        username="  dana ",
        display_name=" Dana Scully ",
        recovery_email=" dana@Example.ORG ",
        discord_username=" Dana.S ",
    )

    assert response.status_code == 201
    assert response.json() == {"message": "User created successfully"}
    dana = User.objects.get(username="dana")
    assert (dana.display_name, dana.email, dana.discord_username) == ("Dana Scully", "dana@example.org", "dana.s")


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_an_empty_discord_name_means_none(front_end, empty):
    assert front_end(discord_username=empty).status_code == 201
    assert User.objects.get(username="dana").discord_username == ""


def test_an_upper_case_username_is_refused_not_lowered(front_end):
    response = front_end(username="Dana")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Usernames are lower case: use a-z, 0-9, dots and underscores only."
    assert body["fields"] == {"username": [body["error"]]}
    assert not User.objects.filter(username__iexact="dana").exists()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"recovery_email": "not-an-email"}, "Recovery email: enter a valid email address."),
        ({"recovery_email": ""}, "Recovery email: this field may not be blank."),
        ({"display_name": "___"}, "Display name: "),
        ({"username": "root"}, "This username is reserved."),  # names the field already
        ({"discord_username": "x"}, "A Discord username is 2 to 32"),
    ],
)
def test_a_400_names_the_bad_field_in_ascii(front_end, form, error):
    response = front_end(**form)

    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith(error)
    assert message.isascii()


def test_a_missing_field_is_named(front_end):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {legacy_login(client, 'signup_frontend').json()['access_token']}")

    response = client.post("/create_user", {"username": "dana", "display_name": "Dana"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "Recovery email: this field is required."


def test_create_user_without_a_token_is_a_json_401(api_client, default_tier):
    response = api_client.post("/create_user", FRONT_END_FORM, format="json")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_authenticated"


def test_create_user_with_a_members_token_is_a_json_403(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {legacy_login(api_client, 'alice').json()['access_token']}")

    response = api_client.post("/create_user", FRONT_END_FORM, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not User.objects.filter(username="dana").exists()


def test_the_seed_routes_need_no_csrf_token(service_account):
    browser = Client(enforce_csrf_checks=True)
    tokens = browser.post(
        "/login", {"username": "signup_frontend", "password": PASSWORD}, content_type="application/json"
    )
    assert tokens.status_code == 200

    response = browser.post(
        "/create_user",
        FRONT_END_FORM,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access_token']}",
    )

    assert response.status_code == 201
    assert response.json() == {"message": "User created successfully"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/login"), ("delete", "/login"), ("put", "/request_password_reset"), ("post", "/reset_password")],
)
def test_a_wrong_method_is_a_json_405(api_client, default_tier, method, path):
    response = getattr(api_client, method)(path)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_an_oversized_body_is_refused_in_json(api_client, default_tier, settings):
    response = api_client.post("/login", {"username": "a" * 70_000, "password": "x"}, format="json")

    assert response.status_code in (400, 413)
    assert response.json()["code"] == "body_too_large"


def test_a_crash_saves_nothing_and_answers_the_seeds_500(front_end, monkeypatch):
    def broken(*, user):
        raise RuntimeError("the lane is broken")

    monkeypatch.setattr(lane, "account_create", broken)

    response = front_end()

    assert response.status_code == 500
    assert response.json() == {"error": "Failed to create user", "code": "server_error"}
    assert not User.objects.filter(username="dana").exists()


def test_sixty_sign_ups_in_a_minute_through_the_service_account_all_succeed(front_end):
    statuses = [front_end(username=f"user{n}", recovery_email=f"user{n}@example.org").status_code for n in range(60)]

    assert statuses == [201] * 60
    assert User.objects.filter(username__startswith="user").count() == 60


# --- /request_password_reset ---------------------------------------------------------------


def test_request_password_reset_mails_the_link(api, user, mailoutbox):
    response = api.post("/request_password_reset", {"username": "alice"})

    assert response.status_code == 200
    assert response.json() == {"message": "Password reset link sent"}
    (message,) = mailoutbox
    assert message.to == ["alice@example.org"]
    assert link_path(message).startswith("/password-reset/")


def test_an_unknown_username_is_the_seeds_404(api, default_tier, mailoutbox):
    response = api.post("/request_password_reset", {"username": "nobody"})

    assert response.status_code == 404
    assert response.json() == {"error": "User not found", "code": "user_not_found"}
    assert mailoutbox == []


def test_with_enumeration_prevented_both_answers_are_byte_identical(api, user, settings, mailoutbox):
    settings.ACCOUNTS_PREVENT_ENUMERATION = True

    known = api.post("/request_password_reset", {"username": "alice"})
    unknown = api.post("/request_password_reset", {"username": "nobody"})

    assert (known.status_code, unknown.status_code) == (200, 200)
    assert known.content == unknown.content
    # Every answer has an X-Request-ID of its own: the one header that may differ, and tells nothing.
    assert [h for h in sorted(known.headers.items()) if h[0] != "X-Request-ID"] == [
        h for h in sorted(unknown.headers.items()) if h[0] != "X-Request-ID"
    ]
    assert [m.to for m in mailoutbox] == [["alice@example.org"]]


def test_request_password_reset_is_limited_like_request_reset(api_client, user):
    for _ in range(3):
        assert api_client.post("/request_password_reset", {"username": "alice"}, format="json").status_code == 200
    for _ in range(2):
        assert api_client.post("/api/user/request-reset", {"username": "alice"}, format="json").status_code == 200

    response = api_client.post("/request_password_reset", {"username": "alice"}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"


# --- /reset_password -----------------------------------------------------------------------


@pytest.fixture
def reset_link(api, user, mailoutbox) -> str:
    api.post("/request_password_reset", {"username": "alice"})
    return link_token(mailoutbox[-1])


def test_reset_password_redirects_to_the_page_with_the_token(api_client, reset_link):
    response = api_client.get(f"/reset_password?token={reset_link}")

    assert response.status_code == 302
    assert response["Location"] == f"/password-reset/{reset_link}/"
    token = OneTimeToken.objects.get(user__username="alice")
    assert token.used_at is None  # a GET never uses it
    assert Client().get(response["Location"]).status_code == 200


def test_reset_password_without_a_token_is_a_json_400(api_client, default_tier):
    response = api_client.get("/reset_password")

    assert response.status_code == 400
    assert response.json() == {"error": "Token not provided", "code": "token_missing"}


def test_an_invalid_reset_link_is_an_html_400(api_client, default_tier):
    response = api_client.get("/reset_password?token=not-a-real-token")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"This link is invalid" in response.content


def test_an_expired_reset_link_is_an_html_410(api_client, reset_link):
    with time_machine.travel(timezone.now() + timedelta(hours=2, seconds=1)):
        response = api_client.get(f"/reset_password?token={reset_link}")

    assert response.status_code == 410
    assert b"This link has expired" in response.content
