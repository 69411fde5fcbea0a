"""YunoHost 12's portal login as a real server answers it (docs/yunohost.md §9.6), against the
emulator's HTTP server: slapd down is "unreachable", not a wrong password, and fail2ban's
``yunohost-portal`` jail (quick numbers here) never bans this service's address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from django.core import checks
from django.core.cache import cache

import yunohost_emulator as emulator_module
from accounts import yunohost as accounts_lane
from accounts.models import User
from conftest import PASSWORD, CommittingAPIClient
from provisioning import passwords
from provisioning.passwords import Verdict

from .conftest import http_emulator_process, run_lane

pytestmark = pytest.mark.django_db

LOGIN = "/api/user/login"
MAXRETRY = 4


@pytest.fixture
def portal(emulator, tls_cert, settings) -> Iterator[str]:
    """The emulator's HTTP server with a fail2ban jail that bans after MAXRETRY failures."""
    cache.clear()
    with http_emulator_process(
        emulator.path, tls=tls_cert, portal_maxretry=MAXRETRY, portal_findtime=60, portal_bantime=60
    ) as url:
        settings.YUNOHOST_PASSWORD_CHECK = "portal"
        settings.YUNOHOST_PORTAL_API_URL = url.replace("/yunohost/api", "/yunohost/portalapi/")
        settings.YUNOHOST_API_CA_BUNDLE = str(tls_cert[0])
        settings.YUNOHOST_PASSWORD_TIMEOUT = 2
        settings.YUNOHOST_PORTAL_FAIL_LIMIT = MAXRETRY - 1
        settings.YUNOHOST_PORTAL_FAIL_WINDOW = 60
        yield settings.YUNOHOST_PORTAL_API_URL
    cache.clear()


def member(signed_up, username: str = "alice") -> User:
    user = signed_up(username)
    accounts_lane.account_create(user=user)
    run_lane()
    user.refresh_from_db()
    assert user.status == User.Status.ACTIVE
    return user


def portal_login(url: str, username: str, password: str) -> int | None:
    """The portal's status for a login sent directly (not through the service), None if dropped."""
    try:
        response = requests.post(
            url + "login",
            data={"credentials": f"{username}:{password}"},
            headers={"X-Requested-With": ""},
            verify=str(passwords.settings.YUNOHOST_API_CA_BUNDLE),
            timeout=5,
        )
    except requests.ConnectionError:
        return None
    return response.status_code


def stop_slapd(emulator) -> None:
    with emulator_module.transaction(str(emulator.path)) as state:
        state["slapd_down"] = True


def test_the_emulator_answers_unable_to_authenticate_when_slapd_is_down(portal, emulator, signed_up):
    member(signed_up)
    stop_slapd(emulator)
    response = requests.post(
        portal + "login",
        data={"credentials": f"alice:{PASSWORD}"},
        headers={"X-Requested-With": ""},
        verify=str(passwords.settings.YUNOHOST_API_CA_BUNDLE),
        timeout=5,
    )
    assert (response.status_code, response.text) == (401, "Unable to authenticate")


def test_the_emulator_bans_an_address_after_the_jails_failures(portal, emulator, signed_up):
    member(signed_up)
    assert [portal_login(portal, "alice", "wrong password") for _ in range(MAXRETRY)] == [401] * MAXRETRY
    # Banned: no answer at all, to a right password too, and on the admin API as well.
    assert portal_login(portal, "alice", PASSWORD) is None
    with pytest.raises(requests.ConnectionError):
        requests.get(
            portal.replace("/portalapi/", "/api/installed"), verify=passwords.settings.YUNOHOST_API_CA_BUNDLE, timeout=5
        )


def test_slapd_down_is_unreachable_not_a_wrong_password(portal, emulator, signed_up, settings):
    member(signed_up)
    stop_slapd(emulator)

    assert passwords.check_password("alice", PASSWORD) is Verdict.UNREACHABLE
    # The member's right password still opens the account (the local hash decides)...
    assert (
        CommittingAPIClient().post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json").status_code == 200
    )
    # ...or, when an unreachable YunoHost refuses every login, the member is told so.
    settings.YUNOHOST_PASSWORD_UNREACHABLE = "refuse"
    response = CommittingAPIClient().post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "yunohost_unreachable"


def test_wrong_passwords_never_get_this_service_banned(portal, emulator, signed_up, caplog):
    member(signed_up)
    verdicts = [passwords.check_password("alice", f"wrong password {n}") for n in range(3 * MAXRETRY)]

    # YunoHost heard MAXRETRY - 1 failures, then was not asked any more: no ban.
    assert verdicts == [Verdict.REFUSED] * (MAXRETRY - 1) + [Verdict.UNREACHABLE] * (2 * MAXRETRY + 1)
    assert "would bring fail2ban's ban" in caplog.text
    assert portal_login(portal, "alice", PASSWORD) == 200
    assert passwords.check_password("alice", PASSWORD) is Verdict.UNREACHABLE  # until the window moves on


def test_right_passwords_do_not_spend_the_budget(portal, emulator, signed_up):
    member(signed_up)
    for _ in range(3 * MAXRETRY):
        assert passwords.check_password("alice", PASSWORD) is Verdict.ACCEPTED
    assert passwords.check_password("alice", "wrong password") is Verdict.REFUSED


def test_unknown_names_and_pending_accounts_are_not_asked_about(portal, emulator, signed_up):
    member(signed_up)
    signed_up("bob")  # not on YunoHost yet: the local hash decides
    for n in range(2 * MAXRETRY):  # a name each: the login lockout counts per name
        assert (
            CommittingAPIClient()
            .post(LOGIN, {"username": f"nobody{n}", "password": PASSWORD}, format="json")
            .status_code
            == 401
        )
        assert (
            CommittingAPIClient().post(LOGIN, {"username": "bob", "password": PASSWORD}, format="json").status_code
            == 200
        )
    assert portal_login(portal, "alice", PASSWORD) == 200  # never banned
    assert passwords.check_password("alice", PASSWORD) is Verdict.ACCEPTED


def errors() -> set[str]:
    return {str(message.id) for message in checks.run_checks() if message.level >= checks.ERROR}


def test_the_portal_check_on_yunohost_11_is_refused_at_start(settings):
    settings.YUNOHOST_PASSWORD_CHECK = "portal"
    settings.YUNOHOST_VERSION = "11"
    found = [m for m in checks.run_checks() if m.id == "provisioning.E001"]
    assert len(found) == 1 and found[0].level == checks.ERROR
    assert "YunoHost 11 has no portal API" in found[0].msg

    settings.YUNOHOST_VERSION = "12"
    assert "provisioning.E001" not in errors()
    settings.YUNOHOST_VERSION = "11"
    settings.YUNOHOST_PASSWORD_CHECK = "ldap"
    assert "provisioning.E001" not in errors()


def test_a_budget_at_the_ban_is_refused_at_start(settings):
    settings.YUNOHOST_PASSWORD_CHECK = "portal"
    settings.YUNOHOST_PORTAL_FAIL_LIMIT = 20
    assert "provisioning.E002" in errors()
    settings.YUNOHOST_PORTAL_FAIL_LIMIT = 19
    assert "provisioning.E002" not in errors()
