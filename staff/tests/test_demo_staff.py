"""The development demo staff account (`scripts/dev` runs `ensure_demo_staff`): what it prints
gets a newcomer into the admin, the second factor included (`demo_staff_code`), and staff still
need that factor."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from mfa.models import AuthenticatorApp

pytestmark = pytest.mark.django_db


def _ensure() -> tuple[str, str]:
    out = StringIO()
    call_command("ensure_demo_staff", stdout=out)
    found = re.search(r"password '([^']+)'", out.getvalue())
    assert found is not None, out.getvalue()
    return found.group(1), out.getvalue()


def _code() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("demo_staff_code", stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_what_dev_prints_opens_the_admin_after_the_second_factor(settings, default_tier):
    settings.DEBUG = True
    assert settings.STAFF_REQUIRE_MFA
    password, printed = _ensure()
    assert "scripts/manage demo_staff_code" in printed
    client = Client()

    after_password = client.post("/admin/login/", {"username": "demo_staff", "password": password, "next": "/admin/"})

    # The second factor is asked for, not set up: the account has its authenticator already.
    assert after_password.status_code == 302
    index = client.get(after_password["Location"])
    assert index.status_code == 302 and index["Location"].startswith("/admin/mfa/?")
    code, note = _code()
    assert re.fullmatch(r"\d{6}", code) and "works once" in note
    after_code = client.post("/admin/mfa/", {"code": code, "next": "/admin/"})
    assert (after_code.status_code, after_code["Location"]) == (302, "/admin/")
    index = client.get("/admin/")
    assert index.status_code == 200 and b"blahaj.land administration" in index.content
    _, note = _code()
    assert "used already" in note  # a code works once: the command says to wait for the next


def test_the_api_login_takes_the_code_too(settings, default_tier):
    settings.DEBUG = True
    password, _ = _ensure()
    api = APIClient()

    first = api.post("/api/user/login", {"username": "demo_staff", "password": password}, format="json")
    assert first.status_code == 200 and first.json()["mfa_required"] is True
    second = api.post(
        "/api/user/login/mfa", {"mfa_token": first.json()["mfa_token"], "code": _code()[0]}, format="json"
    )
    assert second.status_code == 200, second.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {second.json()['access']}")
    assert api.get("/api/users/").status_code == 200


def test_a_restart_keeps_the_authenticator_and_changes_the_password(settings, default_tier):
    settings.DEBUG = True
    first_password, _ = _ensure()
    device = AuthenticatorApp.objects.get(user__username="demo_staff")

    second_password, _ = _ensure()

    assert first_password != second_password
    assert list(AuthenticatorApp.objects.filter(user__username="demo_staff").values_list("pk", "confirmed")) == [
        (device.pk, True)
    ]
    user = User.objects.get(username="demo_staff")
    assert user.check_password(second_password) and not user.check_password(first_password)


def test_an_unreadable_authenticator_is_replaced(settings, default_tier):
    settings.DEBUG = True
    _ensure()
    AuthenticatorApp.objects.filter(user__username="demo_staff").update(encrypted_secret="not a ciphertext")

    _ensure()

    [device] = AuthenticatorApp.objects.filter(user__username="demo_staff")
    assert device.confirmed and device.secret_readable()


def test_both_commands_are_for_development_only(settings, default_tier):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="scripts/manage ensure_demo_staff"):
        _code()
    _ensure()
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG=true"):
        _ensure()
    with pytest.raises(CommandError, match="DJANGO_DEBUG=true"):
        _code()
