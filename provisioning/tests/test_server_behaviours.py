"""What a real YunoHost server does that an emulator easily hides (docs/yunohost.md §10): Let's
Encrypt's DNS validation and limit, a French locale, a member whose shell is not in /etc/shells,
and a `user create` whose name clashes with a group or an alias. Each through both backends,
acting as YunoHost 12 and as 11.2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from dnslib import QTYPE, RCODE, RR
from dnslib import A as dns_a
from dnslib.server import BaseResolver, DNSServer

import yunohost_emulator as emulator_module
from accounts import yunohost as accounts_lane
from provisioning.models import Operation
from yunohost_client import YunohostAlreadyExists, YunohostNotFound, YunohostPermanent, YunohostTransient

from . import test_contract
from .conftest import API_ADMIN, API_PASSWORD, http_emulator_process, run_lane
from .test_contract import BIN, MAIN, PASSWORD, Target, api_backend

# The contract's fixtures: every test here runs through both backends, as YunoHost 12 and 11.2.
backend, version, target = test_contract.backend, test_contract.version, test_contract.target

CAMILLE = {"username": "camille", "fullname": "Camille Dupont", "password": PASSWORD, "domain": MAIN}


def _edit_state(target: Target, change: Any) -> None:
    with emulator_module.transaction(str(target.state)) as state:
        change(state)


def _set_shell(target: Target, username: str, shell: str) -> None:
    with emulator_module.transaction(str(target.state)) as state:
        state["users"][username]["shell"] = shell


# --- Messages follow the server's locale (§10.2) ----------------------------------------------------


@pytest.fixture
def french_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service runs under a French locale (a host whose /etc/default/locale says fr_FR)."""
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.setenv("LC_ALL", "fr_FR.UTF-8")
    monkeypatch.setenv("LANGUAGE", "fr")


def test_the_emulator_answers_in_french_as_a_french_server_does(tmp_path, tls_cert) -> None:
    state = tmp_path / "state.json"
    env = {**os.environ, "YUNOHOST_EMULATOR_STATE": str(state), "YUNOHOST_DOMAIN": MAIN}
    for name, value, expected in [
        ("LC_ALL", "fr_FR.UTF-8", "ERROR Domaine 'nowhere.example' inconnu"),
        ("LANG", "fr_FR.UTF-8", "ERROR Domaine 'nowhere.example' inconnu"),
        ("LANGUAGE", "fr", "ERROR Domaine 'nowhere.example' inconnu"),
        ("LC_ALL", "C.UTF-8", "ERROR Domain 'nowhere.example' unknown"),
    ]:
        clean = {k: v for k, v in env.items() if k not in ("LC_ALL", "LC_CTYPE", "LANG", "LANGUAGE")}
        run = subprocess.run(
            [sys.executable, str(BIN), "domain", "cert", "status", "nowhere.example"],
            env={**clean, name: value},
            capture_output=True,
            text=True,
            check=False,
        )
        assert (run.returncode, run.stderr.strip()) == (1, expected), name
    # LC_ALL wins over LANG, as in locale.getdefaultlocale().
    run = subprocess.run(
        [sys.executable, str(BIN), "user", "info", "nobody"],
        env={**env, "LANG": "fr_FR.UTF-8", "LC_ALL": "C.UTF-8"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stderr.strip() == "ERROR Unknown user: nobody"

    # The API: the request's `locale` parameter, English without one (moulinette's api18n).
    with http_emulator_process(state, tls=tls_cert) as url:
        session = requests.Session()
        session.trust_env, session.verify = False, str(tls_cert[0])
        session.headers["X-Requested-With"] = "XMLHttpRequest"
        session.post(f"{url}/login", data={"credentials": f"{API_ADMIN}:{API_PASSWORD}"})
        french = session.get(f"{url}/users/nobody", params={"locale": "fr"})
        english = session.get(f"{url}/users/nobody")
    assert (french.status_code, french.json()["error"], french.json()["error_key"]) == (
        400,
        "Le compte nobody est inconnu",
        "user_unknown",
    )
    assert english.json()["error"] == "Unknown user: nobody"


def test_a_french_host_still_tells_not_found_and_already_exists(french_host: None, target: Target) -> None:
    client = target.client
    assert client.user_info("nobody") is None
    client.user_create(**CAMILLE)
    with pytest.raises(YunohostAlreadyExists, match=r"^The user 'camille' already exists$"):
        client.user_create(**CAMILLE)
    with pytest.raises(YunohostAlreadyExists):
        client.domain_add(MAIN)
    with pytest.raises(YunohostNotFound, match=r"^Domain 'nowhere.example' unknown$"):
        client.cert_status("nowhere.example")
    with pytest.raises(YunohostNotFound):
        client.user_delete("nobody")


# --- A shell outside /etc/shells (§10.3) --------------------------------------------------------------


def test_a_member_without_a_login_shell_can_be_updated(target: Target) -> None:
    client = target.client
    client.user_create(**CAMILLE)
    _set_shell(target, "camille", "/bin/false")
    # Written back, the shell is refused: that is what every update did before.
    with pytest.raises(YunohostPermanent, match=r"^Invalid shell: /bin/false$"):
        client.user_update("camille", mailbox_quota="1G", login_shell="/bin/false")

    updated = client.user_update("camille", mailbox_quota="1G", password="N3w-passphrase")

    assert updated["mailbox-quota"]["limit"] == "1G"
    update = target.log("user update")[-1]
    assert update["exit"] == 0
    assert not any(arg.startswith("--loginShell") for arg in update["argv"])
    # YunoHost writes its default shell when none is passed (docs/yunohost.md §1.2).
    assert updated["loginShell"] == "/bin/bash"


def test_a_usual_shell_is_still_passed_back(target: Target) -> None:
    client = target.client
    client.user_create(**CAMILLE)
    _set_shell(target, "camille", "/bin/dash")
    assert client.user_update("camille", mailbox_quota="1G")["loginShell"] == "/bin/dash"
    assert "--loginShell=/bin/dash" in target.log("user update")[-1]["argv"]


# --- A user create that clashes with a group or an alias (§10.4) ------------------------------------


def _clashes(state: dict[str, Any]) -> None:
    state["groups"]["team"] = {"members": []}
    state["users"]["camille"]["aliases"] = ["bob@" + MAIN]


@pytest.mark.parametrize(("username", "ldap"), [("team", "cn"), ("bob", "mail")])
def test_a_name_taken_by_a_group_or_an_alias_is_permanent(target: Target, username: str, ldap: str) -> None:
    target.client.user_create(**CAMILLE)
    _edit_state(target, _clashes)

    with pytest.raises(YunohostPermanent) as refused:
        target.client.user_create(**{**CAMILLE, "username": username})

    if target.backend == "cli":
        value = username if ldap == "cn" else f"{username}@{MAIN}"
        expected = f"Could not create user {username}: LDAP attribute '{ldap}' already exists with value '{value}'"
        assert refused.value.message == expected
    else:
        assert refused.value.message.startswith(f"YunoHost refused to create the user {username}: the name")
        assert refused.value.exit_code == 500
    assert username not in target.data()["users"]
    assert len(target.log("user create")) == 2


@pytest.mark.parametrize("eleven", [False, True])
def test_the_api_answers_a_clash_with_bottles_html_page(tmp_path, tls_cert, eleven: bool) -> None:
    state = tmp_path / "state.json"
    with http_emulator_process(state, version="11" if eleven else "12", tls=tls_cert) as url:
        session = requests.Session()
        session.trust_env, session.verify = False, str(tls_cert[0])
        session.headers["X-Requested-With"] = "XMLHttpRequest"
        session.post(f"{url}/login", data={"credentials": f"{API_ADMIN}:{API_PASSWORD}"})
        assert session.post(f"{url}/users", data=CAMILLE).status_code == 201
        with emulator_module.transaction(str(state)) as data:
            _clashes(data)
        answer = session.post(f"{url}/users", data={**CAMILLE, "username": "team"})
    assert (answer.status_code, answer.headers["Content-Type"]) == (500, "text/html; charset=UTF-8")
    assert "<pre>Internal Server Error</pre>" in answer.text and "team" not in answer.text


@pytest.mark.django_db
def test_the_lane_fails_a_clashing_account_at_once_and_tells_staff(
    http_emulator, emulator, signed_up, staff_notes, settings
):
    settings.YUNOHOST_RETRY_BACKOFF = 0
    alice = signed_up("alice")
    with emulator_module.transaction(str(emulator.path)) as state:
        state["groups"]["alice"] = {"members": []}
    operation = accounts_lane.account_create(user=alice)
    run_lane()
    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == (Operation.Status.FAILED, 1)
    assert operation.error.startswith("YunoHost refused to create the user alice: the name")
    assert [event for event, _ in staff_notes] == ["provisioning_failed"]
    assert "refused to create the user alice" in staff_notes[0][1]


# --- Let's Encrypt: DNS, failed validations and their limit (§10.1) ---------------------------------


class _Zone(BaseResolver):
    def __init__(self) -> None:
        self.a: dict[str, str] = {}

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name not in self.a:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=dns_a(self.a[name]), ttl=60))
        return reply


@pytest.fixture
def letsencrypt(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Zone]:
    """A DNS server on 127.0.0.1 that the emulator's Let's Encrypt asks; the server is 203.0.113.7."""
    zone = _Zone()
    server = DNSServer(zone, port=0, address="127.0.0.1")
    server.start_thread()
    monkeypatch.setenv("YUNOHOST_EMULATOR_DNS", f"127.0.0.1:{server.server.server_address[1]}")
    monkeypatch.setenv("YUNOHOST_EMULATOR_PUBLIC_IPS", "203.0.113.7")
    try:
        yield zone
    finally:
        server.stop()
        server.server.server_close()


def test_lets_encrypt_fails_until_dns_points_at_the_server_and_limits_failures(
    letsencrypt: _Zone, target: Target
) -> None:
    client, site = target.client, "site.example.org"
    client.domain_add(site)
    letsencrypt.a[site] = "198.51.100.9"
    for _ in range(5):
        with pytest.raises(YunohostTransient) as failed:
            client.cert_install(site)
        assert f"Let's Encrypt certificate install failed for {site}" in failed.value.message
    assert len(target.data()["letsencrypt_failures"][site]) == 5
    if target.backend == "cli":  # the API's 500 carries the last line only
        assert "Challenge did not pass for site.example.org" in failed.value.message

    letsencrypt.a[site] = "203.0.113.7"  # fixed, but within the hour of five failures
    with pytest.raises(YunohostTransient) as limited:
        client.cert_install(site)
    if target.backend == "cli":
        assert "too many failed authorizations recently" in limited.value.message
    assert client.cert_status(site)["CA_type"] == "selfsigned"

    def an_hour_later(state: dict[str, Any]) -> None:
        state["letsencrypt_failures"][site] = [t - 3600 for t in state["letsencrypt_failures"][site]]

    _edit_state(target, an_hour_later)
    client.cert_install(site)
    assert client.cert_status(site)["CA_type"] == "letsencrypt"


@pytest.mark.parametrize("version", ["12", "11"])
def test_a_proxys_html_500_on_user_create_stays_transient(tmp_path, tls_cert, version: str) -> None:
    state = tmp_path / "state.json"
    page = "<html><head><title>500 Internal Server Error</title></head><body><center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center></body></html>"
    with http_emulator_process(state, version=version, tls=tls_cert) as url:
        emulator_module.add_fault(
            {"command": "user create", "status": 500, "body": page, "content_type": "text/html"}, str(state)
        )
        with pytest.raises(YunohostTransient):
            api_backend(url, tls_cert[0], version).user_create(**CAMILLE)
