"""Login, refresh, revocation, me and logout-all (docs/api.md §1), with their unhappy paths."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from conftest import PASSWORD, CommittingAPIClient, committed, login
from logins import authentication
from logins import services as logins

LOGIN = "/api/user/login"
REFRESH = "/api/user/refresh"
ME = "/api/user/me"


def bearer(token: str) -> CommittingAPIClient:
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_token_refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json() == {"error": "Token is invalid or expired.", "code": "token_not_valid"}


# --- login ---------------------------------------------------------------------------------


def test_login_by_username_returns_both_tokens_and_lifetimes(api_client, user):
    response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "access_expires_in", "refresh", "refresh_expires_in"}
    assert body["access_expires_in"] == 900
    assert body["refresh_expires_in"] == 86400
    assert bearer(body["access"]).get(ME).json()["username"] == "alice"


def test_login_by_email_ignores_case(api_client, user):
    response = api_client.post(LOGIN, {"email": "ALICE@Example.org", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert bearer(response.json()["access"]).get(ME).json()["username"] == "alice"


def test_token_lifetimes_come_from_the_environment():
    code = (
        "import django; django.setup();"
        "from logins.tokens import RefreshToken, lifetime_seconds;"
        "from rest_framework_simplejwt.tokens import AccessToken;"
        "print(lifetime_seconds(AccessToken), lifetime_seconds(RefreshToken))"
    )
    env = {**os.environ, "JWT_ACCESS_LIFETIME": "60", "JWT_REFRESH_LIFETIME": "120"}

    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["60", "120"]


def test_unknown_user_and_wrong_password_get_byte_identical_answers(api_client, user):
    unknown = api_client.post(LOGIN, {"username": "nobody_here", "password": PASSWORD}, format="json")
    wrong = api_client.post(LOGIN, {"username": "alice", "password": "not-the-password-1"}, format="json")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content
    assert wrong.json() == {"error": "Invalid username or password.", "code": "invalid_credentials"}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (User.Status.PENDING_CONFIRMATION, "email_unconfirmed"),
        (User.Status.PENDING_APPROVAL, "approval_pending"),
        (User.Status.DISABLED, "account_disabled"),
    ],
)
def test_accounts_that_are_not_active_get_their_403(api_client, make_user, status, code):
    make_user("dora", status=status)

    response = api_client.post(LOGIN, {"username": "dora", "password": PASSWORD}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == code


def test_a_pending_account_with_a_wrong_password_learns_nothing(api_client, make_user):
    make_user("dora", status=User.Status.PENDING_CONFIRMATION)

    response = api_client.post(LOGIN, {"username": "dora", "password": "wrong-password-x"}, format="json")

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid username or password.", "code": "invalid_credentials"}


@pytest.mark.parametrize("status", [User.Status.PROVISIONING, User.Status.PROVISIONING_FAILED])
def test_accounts_on_their_way_to_yunohost_can_log_in(api_client, make_user, status):
    make_user("dora", status=status)

    assert login(api_client, "dora")["access"]


def test_login_needs_a_name_and_a_password(api_client):
    response = api_client.post(LOGIN, {"password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "Give a username or an email.",
        "code": "invalid",
        "fields": {"username": ["Give a username or an email."]},
    }


# --- bad bodies never cost a hash ----------------------------------------------------------


@pytest.fixture
def hash_calls(monkeypatch):
    """Count every password hash or check (the expensive part of a login)."""
    from django.contrib.auth import base_user, hashers

    calls = []

    def spy(name, real):
        def wrapper(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(base_user, "check_password", spy("check", hashers.check_password))
    monkeypatch.setattr(base_user, "make_password", spy("make", hashers.make_password))
    return calls


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'"alice"', b"42", b"null", b"{not json", b"\xff\xfe"],
    ids=["list", "string", "number", "null", "broken", "not-utf8"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api_client, user, hash_calls, body):
    response = api_client.post(LOGIN, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert hash_calls == []


def test_an_oversized_body_is_a_400_without_hashing(api_client, user, hash_calls):
    body = json.dumps({"username": "alice", "password": PASSWORD, "pad": "x" * 70_000})

    response = api_client.post(LOGIN, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "The request body is larger than 65536 bytes.",
        "code": "body_too_large",
    }
    assert hash_calls == []


def test_a_password_of_127_characters_is_refused_before_hashing(api_client, user, hash_calls):
    response = api_client.post(LOGIN, {"username": "alice", "password": "a" * 127}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"password": ["Use at most 126 characters."]}
    assert hash_calls == []


def test_a_password_of_126_characters_is_checked(api_client, user, hash_calls):
    response = api_client.post(LOGIN, {"username": "alice", "password": "a" * 126}, format="json")

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid username or password.", "code": "invalid_credentials"}
    assert hash_calls == ["check"]


def test_unknown_users_cost_one_hash_like_known_ones(api_client, user, hash_calls):
    api_client.post(LOGIN, {"username": "nobody_here", "password": PASSWORD}, format="json")

    assert hash_calls == ["make"]


def test_form_encoded_bodies_are_invalid_json(api_client, user):
    response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 400
    assert response.json() == {
        "error": "The request body must be JSON, sent as Content-Type: application/json.",
        "code": "invalid_json",
    }


def test_a_wrong_method_is_a_405_in_the_envelope(api_client):
    response = api_client.get(LOGIN)

    assert response.status_code == 405
    assert response.json() == {"error": 'Method "GET" not allowed.', "code": "method_not_allowed"}


def test_an_unknown_api_path_is_a_404_in_the_envelope(api_client):
    response = api_client.get("/api/user/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"error": "There is nothing at this address.", "code": "not_found"}


def test_an_unexpected_error_is_a_plain_500_without_secrets(api_client, user, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(logins, "user_login", explode)
    client = APIClient(raise_request_exception=False)

    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 500
    assert response.json() == {
        "error": "Something went wrong on our side. Please try again later.",
        "code": "server_error",
    }
    assert "database on fire" in caplog.text  # the log has the traceback...
    assert PASSWORD not in caplog.text  # ...and never the password


# --- refresh -------------------------------------------------------------------------------


def test_refresh_from_the_authorization_header(tokens):
    response = bearer(tokens["refresh"]).post(REFRESH)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "access_expires_in"}
    assert body["access_expires_in"] == 900
    assert bearer(body["access"]).get(ME).status_code == 200


def test_refresh_from_the_body(api_client, tokens):
    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 200
    assert bearer(response.json()["access"]).get(ME).json()["username"] == "alice"


def test_refresh_without_a_token_is_a_401(api_client):
    response = api_client.post(REFRESH, {}, format="json")

    assert response.status_code == 401
    assert response.json() == {"error": "A refresh token is required.", "code": "token_not_valid"}


def test_refresh_with_rotation_returns_a_new_refresh_token_and_kills_the_old(api_client, tokens, settings):
    settings.JWT_ROTATE_REFRESH_TOKENS = True

    response = bearer(tokens["refresh"]).post(REFRESH)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "access_expires_in", "refresh", "refresh_expires_in"}
    assert bearer(body["refresh"]).post(REFRESH).status_code == 200
    # The old one is refused (and, replayed, ends its whole login: test_refresh_reuse.py).
    assert_token_refused(bearer(tokens["refresh"]).post(REFRESH))


def test_an_access_token_is_not_a_refresh_token(tokens):
    assert_token_refused(bearer(tokens["access"]).post(REFRESH))


def test_a_refresh_token_is_not_an_access_token(tokens):
    assert_token_refused(bearer(tokens["refresh"]).get(ME))


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["user_id"] = "999"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _unsigned(token: str) -> str:
    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{payload}."


@pytest.mark.parametrize("forge", [_tamper, _unsigned], ids=["tampered", "alg-none"])
def test_forged_tokens_are_refused(tokens, forge):
    assert_token_refused(bearer(forge(tokens["access"])).get(ME))
    assert_token_refused(bearer(forge(tokens["refresh"])).post(REFRESH))


def test_expired_tokens_are_refused(api_client, user):
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        old = login(api_client, "alice")

    assert_token_refused(bearer(old["access"]).get(ME))
    assert_token_refused(bearer(old["refresh"]).post(REFRESH))


def test_an_access_token_dies_after_its_lifetime(tokens):
    with time_machine.travel(timezone.now() + timedelta(seconds=901)):
        assert_token_refused(bearer(tokens["access"]).get(ME))


def test_a_token_used_before_still_dies_after_its_lifetime(tokens):
    client = bearer(tokens["access"])
    assert client.get(ME).status_code == 200  # its signature checked once, and remembered
    assert authentication._verified_payload.cache_info().currsize == 1

    with time_machine.travel(timezone.now() + timedelta(seconds=901)):
        assert_token_refused(client.get(ME))


def test_only_tokens_that_pass_every_check_are_remembered(tokens):
    remembered = authentication._verified_payload.cache_info
    assert_token_refused(bearer(_tamper(tokens["access"])).get(ME))
    assert_token_refused(bearer(tokens["refresh"]).get(ME))  # a refresh token is no access token
    assert remembered().currsize == 0

    for _ in range(3):
        assert bearer(tokens["access"]).get(ME).status_code == 200
    assert (remembered().currsize, remembered().hits) == (1, 2)
    # A remembered token is still revoked like any other (the denylist is read at every use).
    assert bearer(tokens["access"]).delete("/api/user/revoke-access").status_code == 200
    assert_token_refused(bearer(tokens["access"]).get(ME))


# --- revocation ----------------------------------------------------------------------------


def test_revoked_access_token_is_refused_afterwards(tokens):
    client = bearer(tokens["access"])

    response = client.delete("/api/user/revoke-access")

    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "Access token revoked!"}
    assert_token_refused(client.get(ME))
    # The refresh token of the same login still works: only that access token died.
    assert bearer(tokens["refresh"]).post(REFRESH).status_code == 200


def test_revoked_refresh_token_is_refused_afterwards(tokens):
    client = bearer(tokens["refresh"])

    response = client.delete("/api/user/revoke-refresh")

    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "Refresh token revoked!"}
    assert_token_refused(client.post(REFRESH))
    assert_token_refused(client.delete("/api/user/revoke-refresh"))


def test_revoke_refresh_refuses_an_access_token(tokens):
    assert_token_refused(bearer(tokens["access"]).delete("/api/user/revoke-refresh"))


def test_revoke_access_refuses_a_refresh_token(tokens):
    assert_token_refused(bearer(tokens["refresh"]).delete("/api/user/revoke-access"))


def test_revoke_access_without_a_token_is_a_401(api_client):
    response = api_client.delete("/api/user/revoke-access")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_logout_all_kills_every_token_but_a_new_login_works(api_client, user):
    first = login(api_client, "alice")
    second = login(api_client, "alice")

    response = bearer(first["access"]).post("/api/user/logout-all")

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    for pair in (first, second):
        assert_token_refused(bearer(pair["access"]).get(ME))
        assert_token_refused(bearer(pair["refresh"]).post(REFRESH))
    # Within the same second as the logout: a new login must live.
    fresh = login(api_client, "alice")
    assert bearer(fresh["access"]).get(ME).status_code == 200
    assert bearer(fresh["refresh"]).post(REFRESH).status_code == 200


def test_a_password_change_kills_every_earlier_token(api_client, user):
    old = login(api_client, "alice")

    services.user_set_password(user=user, password="another-long-passphrase-77")

    assert_token_refused(bearer(old["access"]).get(ME))
    assert_token_refused(bearer(old["refresh"]).post(REFRESH))
    assert login(api_client, "alice", "another-long-passphrase-77")


def test_a_password_set_from_the_admin_form_kills_tokens_too(api_client, user):
    old = login(api_client, "alice")
    user.set_password("another-long-passphrase-77")
    user.save()

    assert_token_refused(bearer(old["access"]).get(ME))


def test_disabling_an_account_kills_its_tokens(api_client, user):
    old = login(api_client, "alice")

    services.user_disable(user=user)

    assert_token_refused(bearer(old["access"]).get(ME))
    assert_token_refused(bearer(old["refresh"]).post(REFRESH))


def test_disabling_from_a_plain_save_kills_tokens_too(api_client, user):
    old = login(api_client, "alice")
    user = User.objects.get(pk=user.pk)
    user.status = User.Status.DISABLED
    user.save(update_fields=["status"])

    assert_token_refused(bearer(old["refresh"]).post(REFRESH))


def test_tokens_of_a_deleted_user_are_refused(tokens, user):
    user.delete()

    assert_token_refused(bearer(tokens["access"]).get(ME))
    assert_token_refused(bearer(tokens["refresh"]).post(REFRESH))


# --- me ------------------------------------------------------------------------------------


def test_me_is_the_account_and_nothing_more(auth_client, user):
    response = auth_client.get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "username": "alice",
        "display_name": "Alice",
        "email": "alice@example.org",
        "discord_username": "",
        "tier": "starter",
        "status": "active",
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
        "email_undeliverable": False,
        "provisioning": None,  # never placed on a YunoHost server (made here by hand)
        "language": "en",
    }


def test_me_without_a_token_is_a_401(api_client):
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response.json() == {
        "error": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


# --- abuse limits --------------------------------------------------------------------------


def _fail(client: APIClient, username: str = "alice"):
    return client.post(LOGIN, {"username": username, "password": "wrong-password-x"}, format="json")


def test_five_failures_lock_the_username_even_for_the_right_password(api_client, user):
    for _ in range(5):
        assert _fail(api_client).status_code == 401

    response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert 890 <= int(response["Retry-After"]) <= 901


def test_the_username_and_the_email_share_one_budget(api_client, user):
    for identifier in ["alice", "alice@example.org", "ALICE", "Alice@EXAMPLE.org", "alice"]:
        key = "email" if "@" in identifier else "username"
        api_client.post(LOGIN, {key: identifier, "password": "wrong-password-x"}, format="json")

    response = api_client.post(LOGIN, {"email": "alice@example.org", "password": PASSWORD}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"


def test_the_lockout_ends_after_fifteen_minutes(api_client, user):
    for _ in range(5):
        _fail(api_client)

    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=2)):
        assert login(api_client, "alice")


def test_a_success_resets_the_failure_count(api_client, user):
    for _ in range(4):
        _fail(api_client)
    login(api_client, "alice")
    for _ in range(4):
        _fail(api_client)

    assert login(api_client, "alice")


def test_the_lockout_of_one_user_leaves_others_alone(api_client, user, other_user):
    for _ in range(5):
        _fail(api_client)

    assert login(api_client, "bob")


def test_unknown_usernames_are_locked_out_too(api_client, db):
    for _ in range(5):
        _fail(api_client, "ghost")

    locked = _fail(api_client, "ghost")
    assert (locked.status_code, locked.json()["code"]) == (429, "too_many_attempts")


def test_failed_logins_are_limited_per_ip(api_client, user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "3/min"},
    }
    for _ in range(5):
        login(api_client, "alice")  # successful logins do not count
    for name in ("ghost1", "ghost2", "ghost3"):  # three names: no per-account lockout
        assert _fail(api_client, name).status_code == 401

    response = api_client.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    other_ip = APIClient(REMOTE_ADDR="10.1.2.3")
    assert other_ip.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json").status_code == 200


# --- the auth cache never outlives a revocation --------------------------------------------


def test_a_warm_auth_cache_still_sees_a_disable(auth_client, user):
    assert auth_client.get(ME).status_code == 200  # the user is now cached

    with committed():
        services.user_disable(user=User.objects.get(pk=user.pk))

    assert_token_refused(auth_client.get(ME))


def test_a_stale_cache_refill_cannot_resurrect_revoked_tokens(auth_client, user):
    from django.core.cache import cache

    from logins import tokens as token_module

    stale = User.objects.select_related("tier").get(pk=user.pk)  # read before the revocation
    with committed():
        logins.user_revoke_all_tokens(user=user)
    # A slow request writes its old copy back after the revocation's invalidation.
    cache.set(token_module.USER_KEY.format(user_id=user.pk), stale, 300)

    assert_token_refused(auth_client.get(ME))


def test_a_tier_change_shows_in_me_at_once(auth_client, user, default_tier, django_capture_on_commit_callbacks):
    from tiers.services import tier_update

    auth_client.get(ME)
    with django_capture_on_commit_callbacks(execute=True):
        tier_update(tier=default_tier, data={"slug": "minnow"})

    assert auth_client.get(ME).json()["tier"] == "minnow"


def test_the_auth_cache_holds_no_password_hash(auth_client, user):
    from django.core.cache import cache

    from logins import tokens as token_module

    auth_client.get(ME)
    cached = cache.get(token_module.USER_KEY.format(user_id=user.pk))

    assert cached.username == "alice"
    assert "password" not in cached.__dict__
    assert "pending_password" not in cached.__dict__


def test_a_tier_change_reaches_every_signed_in_user_of_the_tier(
    api_client, make_user, default_tier, django_capture_on_commit_callbacks
):
    from tiers.services import tier_update

    clients = []
    for name in ("amy", "ben", "cat"):
        make_user(name)
        clients.append(bearer(login(api_client, name)["access"]))
    for client in clients:
        assert client.get(ME).json()["tier"] == "starter"  # cached now

    with django_capture_on_commit_callbacks(execute=True):
        tier_update(tier=default_tier, data={"slug": "minnow"})

    assert [client.get(ME).json()["tier"] for client in clients] == ["minnow"] * 3


def test_revoke_refresh_is_limited_per_ip_like_refresh(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "2/min"},
    }
    client = bearer("not-a-token")
    for _ in range(2):
        assert client.delete("/api/user/revoke-refresh").status_code == 401

    response = client.delete("/api/user/revoke-refresh")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response
