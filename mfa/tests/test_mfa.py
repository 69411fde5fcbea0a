"""The second factor (TOTP and recovery codes) on the API, the admin and the member's page
(docs/api.md "Second factor")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import OneTimeToken
from conftest import PASSWORD, CommittingAPIClient, login, totp_code, totp_device, verified_login
from logins import tokens as jwt
from mfa import devices
from mfa.models import AuthenticatorApp, RecoveryCode, recovery_code_digest

pytestmark = pytest.mark.django_db


def password_step(client: APIClient, username: str, password: str = PASSWORD):
    return client.post("/api/user/login", {"username": username, "password": password}, format="json")


def code_step(client: APIClient, mfa_token: str, code: str):
    return client.post("/api/user/login/mfa", {"mfa_token": mfa_token, "code": code}, format="json")


def bearer(access: str) -> APIClient:
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def recovery_codes(user) -> list[str]:
    """The digests of the account's unused recovery codes (the codes themselves are not kept)."""
    return list(RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).values_list("digest", flat=True))


@pytest.fixture
def alice_with_totp(user):
    device = totp_device(user)
    codes = devices.recovery_codes_replace(user)
    return user, device, codes


# --- The login's second step ------------------------------------------------------------------


def test_a_password_alone_gives_no_tokens_but_the_second_step(api_client, alice_with_totp):
    response = password_step(api_client, "alice")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"mfa_required", "mfa_token", "mfa_expires_in", "methods"}
    assert (body["mfa_required"], body["mfa_expires_in"], body["methods"]) == (True, 300, ["totp", "recovery_code"])
    # Stored only as its digest, like every one-time token.
    assert OneTimeToken.objects.get(purpose="mfa").digest == OneTimeToken.digest_of(body["mfa_token"])


def test_the_code_gives_tokens_that_record_the_second_factor_also_after_refresh(api_client, alice_with_totp):
    _, device, _ = alice_with_totp
    challenge = password_step(api_client, "alice").json()

    response = code_step(api_client, challenge["mfa_token"], totp_code(device))

    assert response.status_code == 200
    pair = response.json()
    assert AccessToken(pair["access"])["amr"] == ["pwd", "otp"]
    refreshed = api_client.post("/api/user/refresh", {"refresh": pair["refresh"]}, format="json").json()
    assert AccessToken(refreshed["access"])["amr"] == ["pwd", "otp"]
    assert bearer(refreshed["access"]).get("/api/user/me").json()["username"] == "alice"
    # The mfa_token was single use.
    assert code_step(api_client, challenge["mfa_token"], totp_code(device)).json()["code"] == "token_invalid"


def test_a_replayed_code_is_refused(api_client, alice_with_totp):
    _, device, _ = alice_with_totp
    code = totp_code(device)
    assert code_step(api_client, password_step(api_client, "alice").json()["mfa_token"], code).status_code == 200

    again = code_step(api_client, password_step(api_client, "alice").json()["mfa_token"], code)

    assert again.status_code == 401
    assert again.json()["code"] == "invalid_code"


def test_a_wrong_code_keeps_the_mfa_token_alive(api_client, alice_with_totp):
    _, device, _ = alice_with_totp
    mfa_token = password_step(api_client, "alice").json()["mfa_token"]

    assert code_step(api_client, mfa_token, "000000").status_code == 401
    assert code_step(api_client, mfa_token, totp_code(device)).status_code == 200


def test_wrong_codes_and_wrong_passwords_share_one_lockout(api_client, alice_with_totp, settings):
    _, device, _ = alice_with_totp
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3
    assert password_step(api_client, "alice", "wrong-password-1").status_code == 401
    mfa_token = password_step(api_client, "alice").json()["mfa_token"]
    assert code_step(api_client, mfa_token, "000000").status_code == 401

    third = code_step(api_client, mfa_token, "111111")

    assert third.status_code == 429 and third.json()["code"] == "too_many_attempts"
    assert int(third["Retry-After"]) > 0
    # Locked: the right code does not help, nor does the password.
    assert code_step(api_client, mfa_token, totp_code(device)).status_code in (400, 429)
    assert password_step(api_client, "alice").status_code == 429


def test_a_recovery_code_works_once(api_client, alice_with_totp):
    _, _, codes = alice_with_totp

    first = code_step(api_client, password_step(api_client, "alice").json()["mfa_token"], codes[0].upper())
    again = code_step(api_client, password_step(api_client, "alice").json()["mfa_token"], codes[0])

    assert first.status_code == 200 and "otp" in AccessToken(first.json()["access"])["amr"]
    assert again.status_code == 401
    assert len(recovery_codes(alice_with_totp[0])) == 9


def test_an_expired_mfa_token_is_gone(api_client, alice_with_totp):
    _, device, _ = alice_with_totp
    mfa_token = password_step(api_client, "alice").json()["mfa_token"]
    OneTimeToken.objects.filter(purpose="mfa").update(expires_at=timezone.now() - timedelta(seconds=1))

    response = code_step(api_client, mfa_token, totp_code(device))

    assert response.status_code == 410 and response.json()["code"] == "token_expired"


def test_the_seed_login_answers_the_second_step_too(api_client, alice_with_totp):
    response = api_client.post("/login", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["mfa_required"] is True and "access_token" not in response.json()


# --- Staff without the second factor ----------------------------------------------------------


def test_staff_without_a_device_set_it_up_before_anything_else(api_client, make_user):
    make_user("dora", is_staff=True)
    pair = login(api_client, "dora")
    assert AccessToken(pair["access"])["amr"] == ["pwd"]
    dora = bearer(pair["access"])

    for path in ("/api/users/", "/api/operations/", "/api/websites/", "/api/abuse-reports/"):
        refused = dora.get(path)
        assert refused.status_code == 403, path
        assert refused.json()["code"] == "mfa_setup_required"
        assert "/api/user/mfa/totp" in refused.json()["error"]
    assert dora.post("/create_user", {}, format="json").json()["code"] == "mfa_setup_required"
    assert dora.get("/api/user/me").status_code == 200

    begun = dora.post("/api/user/mfa/totp")
    assert begun.status_code == 200
    assert set(begun.json()) == {"secret", "otpauth_url", "qr_svg"}
    assert begun.json()["otpauth_url"].startswith("otpauth://totp/") and "<svg" in begun.json()["qr_svg"]
    device = AuthenticatorApp.objects.get(user__username="dora", confirmed=False)
    assert dora.post("/api/user/mfa/totp/confirm", {"code": "000000"}, format="json").status_code == 400

    confirmed = dora.post("/api/user/mfa/totp/confirm", {"code": totp_code(device)}, format="json")

    assert confirmed.status_code == 200
    body = confirmed.json()
    assert len(body["recovery_codes"]) == 10 and len(set(body["recovery_codes"])) == 10
    assert dora.get("/api/user/me").status_code == 401  # the password-only tokens died
    assert bearer(body["access"]).get("/api/users/").status_code == 200


def test_staff_with_a_device_but_a_password_only_token_are_told_to_log_in_again(staff_user):
    carol = bearer(jwt.issue_for_user(staff_user)["access"])

    response = carol.get("/api/users/")

    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


def test_staff_routes_take_password_only_tokens_when_the_requirement_is_off(api_client, make_user, settings):
    settings.STAFF_REQUIRE_MFA = False
    make_user("dora", is_staff=True)

    pair = login(api_client, "dora")

    assert bearer(pair["access"]).get("/api/users/").status_code == 200


def test_staff_may_not_take_their_last_factor_off(staff_client, staff_user):
    response = staff_client.delete("/api/user/mfa/totp", {"password": PASSWORD}, format="json")

    assert response.status_code == 403 and response.json()["code"] == "mfa_required_for_staff"
    assert AuthenticatorApp.objects.filter(user=staff_user).exists()


# --- Members --------------------------------------------------------------------------------


def test_a_member_turns_totp_on_and_off(auth_client, user, api_client):
    assert auth_client.get("/api/user/mfa/totp").json() == {
        "totp": False,
        "mandatory": False,
        "token_has_second_factor": False,
    }
    auth_client.post("/api/user/mfa/totp")
    device = AuthenticatorApp.objects.get(user=user)
    pair = auth_client.post("/api/user/mfa/totp/confirm", {"code": totp_code(device)}, format="json").json()
    alice = bearer(pair["access"])
    assert alice.get("/api/user/mfa/totp").json()["totp"] is True
    assert alice.post("/api/user/mfa/totp").json()["code"] == "mfa_already_set_up"
    assert password_step(api_client, "alice").json()["mfa_required"] is True

    wrong = alice.delete("/api/user/mfa/totp", {"password": "not-the-password"}, format="json")
    off = alice.delete("/api/user/mfa/totp", {"password": PASSWORD}, format="json")

    assert wrong.status_code == 400 and off.status_code == 204
    assert not AuthenticatorApp.objects.filter(user=user).exists() and recovery_codes(user) == []
    assert "access" in password_step(api_client, "alice").json()


def test_new_recovery_codes_replace_the_old_ones(api_client, alice_with_totp):
    alice, _, old = alice_with_totp
    client = bearer(login(api_client, "alice")["access"])

    response = client.post("/api/user/mfa/recovery-codes", {"code": old[1]}, format="json")

    assert response.status_code == 200
    new = response.json()["recovery_codes"]
    assert sorted(recovery_codes(alice)) == sorted(map(recovery_code_digest, new)) and not set(new) & set(old)


def test_a_member_without_the_permission_cannot_create_users(auth_client):
    assert auth_client.post("/create_user", {}, format="json").status_code == 403


# --- The admin --------------------------------------------------------------------------------


def test_the_admin_asks_for_the_code_after_the_password(client, make_user):
    device = totp_device(make_user("root", is_staff=True, is_superuser=True))
    assert client.login(username="root", password=PASSWORD)

    first = client.get("/admin/accounts/user/")
    assert first.status_code == 302 and first["Location"] == "/admin/mfa/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    assert client.get("/admin/login/")["Location"].startswith("/admin/mfa/")
    page = client.get(first["Location"])
    assert page.status_code == 200 and b'name="code"' in page.content
    wrong = client.post("/admin/mfa/", {"code": "000000", "next": "/admin/accounts/user/"})
    assert wrong.status_code == 400 and b"wrong" in wrong.content

    right = client.post("/admin/mfa/", {"code": totp_code(device), "next": "/admin/accounts/user/"})

    assert right.status_code == 302 and right["Location"] == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200


def test_the_admin_refuses_a_replayed_code_and_locks_out_like_the_api(client, staff_user, settings, api_client):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    device = AuthenticatorApp.objects.get(user=staff_user)
    code = totp_code(device)
    other = Client()
    assert other.login(username="carol", password=PASSWORD)
    assert other.post("/admin/mfa/", {"code": code}).status_code == 302
    assert client.login(username="carol", password=PASSWORD)

    replayed = client.post("/admin/mfa/", {"code": code})
    locked = client.post("/admin/mfa/", {"code": "123456"})

    assert replayed.status_code == 400 and b"wrong" in replayed.content
    assert locked.status_code == 400 and b"Too many wrong attempts" in locked.content
    assert password_step(api_client, "carol").status_code == 429


def test_staff_without_a_device_are_sent_to_set_one_up_in_the_admin(client, make_user):
    dora = make_user("dora", is_staff=True)
    assert client.login(username="dora", password=PASSWORD)

    first = client.get("/admin/")
    assert first["Location"] == "/admin/mfa/setup/?next=%2Fadmin%2F"
    assert client.get("/admin/mfa/")["Location"].startswith("/admin/mfa/setup/")
    setup = client.get(first["Location"])
    assert setup.status_code == 200 and b"<svg" in setup.content and b"mfa-secret" in setup.content
    device = AuthenticatorApp.objects.get(user=dora, confirmed=False)

    done = client.post("/admin/mfa/setup/", {"code": totp_code(device), "next": "/admin/"})

    assert done.status_code == 200
    assert len(re.findall(rb"<li><code>", done.content)) == 10
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/mfa/setup/")["Location"] == "/admin/"  # shown once


def test_the_admin_needs_no_code_when_the_requirement_is_off(client, make_user, settings):
    settings.STAFF_REQUIRE_MFA = False
    make_user("dora", is_staff=True)
    assert client.login(username="dora", password=PASSWORD)

    assert client.get("/admin/").status_code == 200


def test_a_verified_test_session_opens_the_admin(client, staff_user):
    verified_login(client, staff_user)

    assert client.get("/admin/").status_code == 200


# --- The member's page --------------------------------------------------------------------------


def test_the_page_asks_to_sign_in(client):
    response = client.get("/account/mfa/")

    assert response.status_code == 302 and response["Location"] == "/account/login/?next=/account/mfa/"


def test_a_member_turns_totp_on_and_off_on_the_page(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/account/mfa/")
    assert page.status_code == 200 and b"is <strong>off</strong>" in page.content
    csrf = client.cookies["csrftoken"].value
    assert client.post("/account/mfa/", {"action": "begin"}).status_code == 403  # no CSRF token

    begun = client.post("/account/mfa/", {"action": "begin", "csrfmiddlewaretoken": csrf})
    assert b"<svg" in begun.content
    device = AuthenticatorApp.objects.get(user=user, confirmed=False)
    confirmed = client.post(
        "/account/mfa/", {"action": "confirm", "code": totp_code(device), "csrfmiddlewaretoken": csrf}
    )
    assert confirmed.status_code == 200 and len(re.findall(rb"<li><code>", confirmed.content)) == 10
    assert b"is <strong>on</strong>" in client.get("/account/mfa/").content

    off = client.post("/account/mfa/", {"action": "off", "code": totp_code(device), "csrfmiddlewaretoken": csrf})

    assert off.status_code == 302
    assert not AuthenticatorApp.objects.filter(user=user).exists()


def test_staff_remove_a_lost_authenticator_in_the_admin_and_see_no_secrets(admin_client, staff_user):
    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "remove_second_factor", "_selected_action": [staff_user.pk]}
    )

    assert response.status_code == 302
    assert not AuthenticatorApp.objects.filter(user=staff_user).exists()
