"""The sign-up front end's service account: made new or converted from its old staff account,
allowed /create_user and nothing else (docs/api.md §2)."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import User
from audit.models import AuditEntry
from conftest import PASSWORD, CommittingAPIClient, staff_access, totp_device

pytestmark = pytest.mark.django_db


def bearer(access: str) -> APIClient:
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# --- The service account ----------------------------------------------------------------------


def test_the_service_account_creates_users_and_nothing_else(api_client, service_account, mailoutbox):
    tokens = api_client.post("/login", {"username": "signup_frontend", "password": PASSWORD}, format="json").json()
    front_end = bearer(tokens["access_token"])

    created = front_end.post(
        "/create_user",
        {"username": "dana", "display_name": "Dana", "recovery_email": "dana@example.org", "discord_username": ""},
        format="json",
    )

    assert created.status_code == 201, created.content
    assert front_end.get("/api/user/me").json()["username"] == "signup_frontend"
    for method, path in (
        ("get", "/api/users/"),
        ("get", "/api/websites/"),
        ("post", "/create_website"),
        ("post", "/api/user/mfa/totp"),
        ("post", "/api/invitations/"),
    ):
        refused = getattr(front_end, method)(path, {}, format="json")
        assert refused.status_code == 403, path
        assert refused.json()["code"] == "service_account"
    assert front_end.post("/api/user/logout-all").status_code == 200


def test_the_service_account_is_no_staff_and_never_on_yunohost(service_account, client):
    assert not service_account.is_staff and service_account.status == User.Status.ACTIVE
    assert service_account.has_perm("accounts.create_user_via_legacy_routes")
    assert not service_account.operations.exists() if hasattr(service_account, "operations") else True
    assert client.login(username="signup_frontend", password=PASSWORD)
    assert client.get("/admin/").status_code == 302  # to the admin's login


def test_the_command_makes_a_service_account_once(default_tier, user, monkeypatch):
    out = io.StringIO()
    call_command("create_service_account", "frontend", stdout=out)

    found = re.search(r"store it now\): (\S+)", out.getvalue())
    assert found is not None
    password = found[1]
    account = User.objects.get(username="frontend")
    assert account.check_password(password) and account.is_service_account and not account.is_staff
    with pytest.raises(CommandError, match="already a service account"):
        call_command("create_service_account", "frontend", stdout=io.StringIO())
    with pytest.raises(CommandError, match="member's account"):
        call_command("create_service_account", "alice", stdout=io.StringIO())

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-chosen-passphrase-77\n"))
    quiet = io.StringIO()
    call_command("create_service_account", "frontend2", "--password-stdin", stdout=quiet)
    assert "a-long-chosen-passphrase-77" not in quiet.getvalue()
    assert User.objects.get(username="frontend2").check_password("a-long-chosen-passphrase-77")
    rows = AuditEntry.objects.filter(action="service_account.create").order_by("id")
    assert [(row.actor, row.door, row.object, row.result) for row in rows] == [
        ("command:create_service_account", "command", "user:frontend", "ok"),
        ("command:create_service_account", "command", "user:frontend", "refused"),
        ("command:create_service_account", "command", "user:alice", "refused"),
        ("command:create_service_account", "command", "user:frontend2", "ok"),
    ]
    assert not any("passphrase" in row.detail or password in row.detail for row in rows)


def test_a_staff_token_with_the_factor_may_create_users(staff_user):
    response = bearer(staff_access(staff_user)).post(
        "/create_user",
        {"username": "dana", "display_name": "Dana", "recovery_email": "dana@example.org", "discord_username": ""},
        format="json",
    )

    assert response.status_code == 201


def test_the_front_ends_old_staff_account_is_converted_keeping_its_password(make_user, user):
    # Before service accounts, the front end logged in with a staff account (no YunoHost user).
    old = make_user("signup_bot", is_staff=True, on_yunohost=False)
    totp_device(old)
    before = CommittingAPIClient().post("/login", {"username": "signup_bot", "password": PASSWORD}, format="json")
    assert before.json().get("mfa_required") is True  # staff with TOTP: the program is stuck

    call_command("create_service_account", "signup_bot", "--convert", stdout=io.StringIO())

    old.refresh_from_db()
    assert (old.is_staff, old.is_superuser, old.is_service_account) == (False, False, True)
    pair = CommittingAPIClient().post("/login", {"username": "signup_bot", "password": PASSWORD}, format="json")
    assert pair.status_code == 200 and "access_token" in pair.json()  # same password, same route
    created = bearer(pair.json()["access_token"]).post(
        "/create_user",
        {"username": "dana", "display_name": "Dana", "recovery_email": "dana@example.org"},
        format="json",
    )
    assert created.status_code == 201
    row = AuditEntry.objects.get(action="service_account.convert")
    assert (row.actor, row.object, row.result) == ("command:create_service_account", "user:signup_bot", "ok")
    # A member's account is a person's, never a program's.
    with pytest.raises(CommandError, match="member's account"):
        call_command("create_service_account", "alice", "--convert", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already a service account"):
        call_command("create_service_account", "signup_bot", "--convert", stdout=io.StringIO())
