"""YunoHost decides an active member's password (docs/yunohost.md §9), against real parts: the
emulator (CLI for the lane, HTTP for the portal API) and a private slapd that the emulator keeps
in step with its users, as YunoHost keeps its own slapd.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from importlib import import_module

import ldap3
import pytest
from django.apps import apps
from django.test import Client

from accounts import yunohost as accounts_lane
from accounts.models import User
from conftest import PASSWORD, CommittingAPIClient
from legacy import service_accounts
from logins.passwords import _NOBODY
from provisioning import passwords
from provisioning.models import Operation
from provisioning.passwords import Verdict
from yunohost_client import get_client
from yunohost_standins.slapd import PrivateSlapd, free_port

from .conftest import http_emulator_process, run_lane

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a portal passphrase 2 remember"
LOGIN = "/api/user/login"


@pytest.fixture
def yunohost_ldap(emulator, slapd, settings, monkeypatch) -> Iterator[PrivateSlapd]:
    """The emulator writes its users into the private slapd; logins bind there."""
    monkeypatch.setenv("YUNOHOST_EMULATOR_LDAP_URI", slapd.uri)
    monkeypatch.setenv("YUNOHOST_EMULATOR_LDAP_ADMIN_PASSWORD", slapd.admin_password)
    settings.YUNOHOST_PASSWORD_CHECK = "ldap"
    settings.YUNOHOST_LDAP_URI = slapd.uri
    settings.YUNOHOST_PASSWORD_TIMEOUT = 2
    yield slapd
    with slapd.admin() as c:  # the directory lives for the whole run: leave it empty
        c.search(passwords.USERS_BASE, "(uid=*)", search_scope=ldap3.LEVEL)
        for entry in list(c.entries):
            c.delete(entry.entry_dn)


@pytest.fixture
def portal(emulator, tls_cert, settings) -> Iterator[str]:
    """The emulator's HTTP server over TLS: logins go to its portal API."""
    with http_emulator_process(emulator.path, tls=tls_cert) as url:
        settings.YUNOHOST_PASSWORD_CHECK = "portal"
        settings.YUNOHOST_PORTAL_API_URL = url.replace("/yunohost/api", "/yunohost/portalapi/")
        settings.YUNOHOST_API_CA_BUNDLE = str(tls_cert[0])
        settings.YUNOHOST_PASSWORD_TIMEOUT = 2
        yield settings.YUNOHOST_PORTAL_API_URL


@pytest.fixture
def checks(monkeypatch) -> list[tuple[str, Verdict]]:
    """Every question asked of YunoHost (the real check runs): username and verdict."""
    asked: list[tuple[str, Verdict]] = []
    real = passwords.check_password

    def counting(username: str, password: str, *, probe: bool = False) -> Verdict:
        verdict = real(username, password, probe=probe)
        asked.append((username, verdict))
        return verdict

    monkeypatch.setattr(passwords, "check_password", counting)
    return asked


def member(signed_up, username: str = "alice", **fields) -> User:
    """A member created through the lane: a YunoHost user (and an LDAP entry) with PASSWORD."""
    user = signed_up(username, **fields)
    accounts_lane.account_create(user=user)
    run_lane()
    user.refresh_from_db()
    assert user.status == User.Status.ACTIVE
    return user


def change_on_yunohost(username: str, password: str) -> None:
    """What the member's own change in YunoHost's portal does: YunoHost's user, LDAP included."""
    get_client().user_update(username, password=password)


def login(client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password}, format="json")


def bind(slapd: PrivateSlapd, username: str, password: str) -> bool:
    server = ldap3.Server(slapd.uri, get_info=ldap3.NONE)
    connection = ldap3.Connection(server, passwords.user_dn(username), password)
    try:
        return bool(connection.bind())
    finally:
        passwords.close(connection)


# --- The check itself ---------------------------------------------------------------------------


def test_the_ldap_check_binds_as_the_member(yunohost_ldap, signed_up):
    member(signed_up)

    assert bind(yunohost_ldap, "alice", PASSWORD)  # the emulator wrote the entry, as YunoHost does
    assert passwords.check_password("alice", PASSWORD) is Verdict.ACCEPTED
    assert passwords.check_password("alice", "not her password") is Verdict.REFUSED
    assert passwords.check_password("nobody", PASSWORD) is Verdict.REFUSED


def test_an_empty_password_or_an_odd_name_never_reaches_ldap(yunohost_ldap, signed_up, settings):
    member(signed_up)
    settings.YUNOHOST_LDAP_URI = f"ldap://127.0.0.1:{free_port()}"  # nothing there: asking would be UNREACHABLE

    assert passwords.check_password("alice", "") is Verdict.REFUSED  # an anonymous bind "succeeds"
    for name in ("alice,ou=groups", "*", "Alice", "", "..", "a" * 31, "alice\n"):
        assert passwords.check_password(name, PASSWORD) is Verdict.REFUSED
    assert passwords.user_dn("a,b=c+d") == "uid=a\\,b\\=c\\+d,ou=users,dc=yunohost,dc=org"


def test_local_asks_nobody(settings):
    settings.YUNOHOST_PASSWORD_CHECK = "local"

    assert passwords.check_password("alice", PASSWORD) is Verdict.UNDECIDED


# --- (a) A change in YunoHost's portal, through LDAP ----------------------------------------------


def test_a_password_changed_on_yunohost_logs_in_here_and_the_old_one_stops(yunohost_ldap, signed_up, checks):
    alice = member(signed_up)
    client = CommittingAPIClient()
    old = login(client, "alice", PASSWORD).json()
    operations = Operation.objects.count()

    change_on_yunohost("alice", NEW_PASSWORD)
    assert bind(yunohost_ldap, "alice", NEW_PASSWORD) and not bind(yunohost_ldap, "alice", PASSWORD)

    response = login(client, "alice", NEW_PASSWORD)
    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)  # the local hash follows YunoHost
    assert Operation.objects.count() == operations  # and nothing goes back to YunoHost
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert client.get("/api/user/me").status_code == 401  # earlier tokens are cut off
    assert client.post("/api/user/refresh", {"refresh": old["refresh"]}, format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert client.get("/api/user/me").status_code == 200

    refused = login(CommittingAPIClient(), "alice", PASSWORD)  # the local hash knew it; YunoHost says no
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_credentials")
    assert [verdict for _, verdict in checks] == [Verdict.ACCEPTED] * 2 + [Verdict.REFUSED]


def test_an_account_not_yet_on_yunohost_uses_the_local_hash(yunohost_ldap, signed_up, checks):
    signed_up("alice", status=User.Status.PENDING_APPROVAL)

    response = login(CommittingAPIClient(), "alice", PASSWORD)

    assert (response.status_code, response.json()["code"]) == (403, "approval_pending")
    assert checks == [(_NOBODY, Verdict.REFUSED)]  # asked for the timing only


def test_active_accounts_without_a_yunohost_user_use_the_local_hash(yunohost_ldap, make_user, checks):
    # A superuser made with createsuperuser and the front end's service account are active but
    # have no YunoHost user: asking YunoHost would lock them out.
    admin = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    program = service_accounts.service_account_create(username="signup_frontend", password=PASSWORD)
    assert not admin.on_yunohost and not program.on_yunohost

    client = Client()
    assert client.login(username="root", password=PASSWORD)
    response = CommittingAPIClient().post(
        "/login", {"username": "signup_frontend", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200 and "access_token" in response.json()
    # YunoHost was asked about nobody (for the timing), never about these two.
    assert checks == [(_NOBODY, Verdict.REFUSED)] * 2


def test_the_migration_marks_the_accounts_that_have_a_yunohost_user(make_user):
    step = import_module("accounts.migrations.0014_user_on_yunohost").mark_yunohost_users
    provisioned = make_user("alice", on_yunohost=False)
    Operation.objects.create(kind=Operation.Kind.USER_CREATE, subject="user:alice", status="succeeded", sequence=1)
    imported = make_user("bob", on_yunohost=False)
    User.objects.filter(pk=imported.pk).update(password="!unusable")
    staff = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    pending = make_user("carol", status=User.Status.PENDING_APPROVAL)

    step(apps, None)

    marked = set(User.objects.filter(on_yunohost=True).values_list("username", flat=True))
    assert marked == {"alice", "bob"}
    assert {provisioned.username, imported.username}.isdisjoint({staff.username, pending.username})


# --- (b) The same through the portal API ----------------------------------------------------------


def test_the_portal_api_decides_too(portal, emulator, signed_up, checks):
    alice = member(signed_up)
    assert passwords.check_password("alice", PASSWORD) is Verdict.ACCEPTED
    assert passwords.check_password("alice", "not her password") is Verdict.REFUSED
    assert passwords.check_password("nobody", PASSWORD) is Verdict.REFUSED
    client = CommittingAPIClient()
    old = login(client, "alice", PASSWORD).json()

    change_on_yunohost("alice", NEW_PASSWORD)

    assert login(client, "alice", NEW_PASSWORD).status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert client.get("/api/user/me").status_code == 401
    assert login(CommittingAPIClient(), "alice", PASSWORD).status_code == 401


def test_the_portal_login_answers_like_yunohost(portal, emulator, signed_up):
    import requests

    member(signed_up)
    url = portal + "login"
    ca = str(passwords.settings.YUNOHOST_API_CA_BUNDLE)
    with requests.Session() as s:
        no_header = s.post(url, data={"credentials": f"alice:{PASSWORD}"}, verify=ca, timeout=5)
        missing = s.post(url, data={}, headers={"X-Requested-With": ""}, verify=ca, timeout=5)
        ok = s.post(url, data={"credentials": f"alice:{PASSWORD}"}, headers={"X-Requested-With": ""}, verify=ca)
    assert (no_header.status_code, no_header.text) == (403, "CSRF protection")
    assert (missing.status_code, missing.text) == (400, "Missing credentials parameter")
    assert ok.status_code == 200 and "yunohost.portal" in ok.cookies


@pytest.mark.parametrize("fault", [{"status": 502, "body": "502 - Bad Gateway"}, {"kill": True}, {"hang": 4}])
def test_a_portal_that_fails_or_hangs_is_unreachable(portal, emulator, signed_up, settings, fault):
    member(signed_up)
    settings.YUNOHOST_PASSWORD_TIMEOUT = 1
    emulator.add_fault(command="portal login", **fault)

    started = time.monotonic()
    assert passwords.check_password("alice", PASSWORD) is Verdict.UNREACHABLE
    assert time.monotonic() - started < 3


# --- (c) YunoHost down or slow ---------------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers a byte."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.mark.parametrize("where", ["down", "silent"])
def test_an_unreachable_ldap_falls_back_to_the_local_hash_within_the_timeout(
    yunohost_ldap, signed_up, settings, caplog, where, request
):
    member(signed_up)
    port = request.getfixturevalue("silent_port") if where == "silent" else free_port()
    settings.YUNOHOST_LDAP_URI = f"ldap://127.0.0.1:{port}"
    settings.YUNOHOST_PASSWORD_TIMEOUT = 1

    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        response = login(CommittingAPIClient(), "alice", PASSWORD)

    assert response.status_code == 200, response.content
    assert time.monotonic() - started < 3
    assert "the local hash decides for alice" in caplog.text
    assert PASSWORD not in caplog.text
    wrong = login(CommittingAPIClient(), "alice", "not her password")
    assert wrong.status_code == 401


def test_an_unreachable_yunohost_can_refuse_every_login(yunohost_ldap, signed_up, settings):
    member(signed_up)
    settings.YUNOHOST_LDAP_URI = f"ldap://127.0.0.1:{free_port()}"
    settings.YUNOHOST_PASSWORD_UNREACHABLE = "refuse"

    for name in ("alice", "nobody"):  # an unknown name answers the same
        response = login(CommittingAPIClient(), name, PASSWORD)
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "yunohost_unreachable"
        assert "Try again" in body["error"]


def test_a_stopped_slapd_is_unreachable(emulator, settings):
    stopped = PrivateSlapd().start()
    uri = stopped.uri
    stopped.stop()
    settings.YUNOHOST_PASSWORD_CHECK = "ldap"
    settings.YUNOHOST_LDAP_URI = uri

    assert passwords.check_password("alice", PASSWORD) is Verdict.UNREACHABLE


# --- (d) An unknown name costs what a known one costs -----------------------------------------------


def test_an_unknown_name_does_the_same_work_as_a_member(yunohost_ldap, signed_up, service_account, checks, monkeypatch):
    member(signed_up)
    signed_up("bob", status=User.Status.PENDING_APPROVAL)  # not on YunoHost: the local hash decides
    assert not service_account.on_yunohost  # a program's account never is
    hashes: list[str] = []
    real_set, real_check = User.set_password, User.check_password

    def set_password(self, raw):
        hashes.append("set")
        return real_set(self, raw)

    def check_password(self, raw):
        hashes.append("check")
        return real_check(self, raw)

    monkeypatch.setattr(User, "set_password", set_password)
    monkeypatch.setattr(User, "check_password", check_password)

    work = {}
    answers = {}
    for name, password in [
        ("alice", PASSWORD),
        ("alice", "wrong password"),
        ("nobody", PASSWORD),
        ("bob", PASSWORD),
        ("signup_frontend", PASSWORD),
    ]:
        checks.clear()
        hashes.clear()
        answers[name, password] = login(CommittingAPIClient(), name, password).status_code
        work[name, password] = (len(checks), len(hashes))
        if name != "alice":  # asked about nobody: a real bind, refused, and the answer ignored
            assert checks == [(_NOBODY, Verdict.REFUSED)], name

    assert set(work.values()) == {(1, 1)}  # one hash, one bind, whoever asks
    # The local hash still decides for the accounts not on YunoHost.
    assert answers == {
        ("alice", PASSWORD): 200,
        ("alice", "wrong password"): 401,
        ("nobody", PASSWORD): 401,
        ("bob", PASSWORD): 403,  # awaiting approval, told only with the right password
        ("signup_frontend", PASSWORD): 200,
    }


# --- (e) The lockout still applies -------------------------------------------------------------------


def test_wrong_passwords_through_yunohost_lock_the_account(yunohost_ldap, signed_up, settings, checks):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3
    member(signed_up)
    change_on_yunohost("alice", NEW_PASSWORD)

    for _ in range(3):
        assert login(CommittingAPIClient(), "alice", PASSWORD).status_code == 401  # the old one
    asked = len(checks)
    locked = login(CommittingAPIClient(), "alice", NEW_PASSWORD)

    assert (locked.status_code, locked.json()["code"]) == (429, "too_many_attempts")
    assert len(checks) == asked  # locked: YunoHost is not even asked


# --- (f) The admin's login agrees -----------------------------------------------------------------


def test_the_admin_login_asks_yunohost_too(yunohost_ldap, signed_up):
    carol = member(signed_up, "carol", is_staff=True, is_superuser=True)
    change_on_yunohost("carol", NEW_PASSWORD)

    old = Client().post("/admin/login/", {"username": "carol", "password": PASSWORD, "next": "/admin/"})
    assert old.status_code == 200  # the form again, with its error
    new = Client().post("/admin/login/", {"username": "carol", "password": NEW_PASSWORD, "next": "/admin/"})
    assert (new.status_code, new.headers["Location"]) == (302, "/admin/")
    carol.refresh_from_db()
    assert carol.check_password(NEW_PASSWORD)
