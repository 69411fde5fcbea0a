"""How the apps below ask the second factor without importing this app: mfa registers itself in
logins.hooks (the login's second step) and blahaj.permissions (the staff check), and either
registry left empty refuses loudly instead of letting a password alone through."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework_simplejwt.tokens import AccessToken

from blahaj import permissions
from conftest import PASSWORD, totp_device
from logins import hooks, services
from logins import tokens as jwt
from mfa import devices
from mfa import services as mfa_services

pytestmark = pytest.mark.django_db


def test_mfa_registers_its_answers_when_the_app_is_ready():
    assert hooks.second_factor().has_second_factor is devices.has_second_factor
    assert hooks.second_factor().login_token is mfa_services.login_token_issue
    assert hooks.second_factor().code_methods is devices.code_methods
    assert hooks.second_factor().remove_all is devices.remove_all
    assert permissions.second_factor().user_has is devices.has_second_factor
    assert permissions.second_factor().token_has is jwt.has_second_factor


def test_the_login_asks_the_registered_second_factor(user):
    assert services.user_login(identifier="alice", password=PASSWORD).keys() >= {"access", "refresh"}
    totp_device(user)

    answer = services.user_login(identifier="alice", password=PASSWORD)

    assert answer["mfa_required"] is True and answer["methods"] == ["totp", "recovery_code"]


def test_a_login_without_a_registered_second_factor_is_refused_not_let_through(user, monkeypatch):
    totp_device(user)
    monkeypatch.setattr(hooks, "_second_factor", None)

    with pytest.raises(ImproperlyConfigured, match="mfa"):
        services.user_login(identifier="alice", password=PASSWORD)


def test_the_staff_check_without_a_registered_second_factor_is_refused_not_let_through(staff_user, monkeypatch):
    totp_device(staff_user)
    token = AccessToken(jwt.issue_for_user(staff_user, factors=jwt.WITH_SECOND_FACTOR)["access"])
    assert permissions.mfa_refusal(staff_user, token) is None
    monkeypatch.setattr(permissions, "_second_factor", None)

    with pytest.raises(ImproperlyConfigured, match="mfa"):
        permissions.mfa_refusal(staff_user, token)
