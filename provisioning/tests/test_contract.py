"""One contract, two backends, two YunoHost versions: every command the lane runs gives the same
result and the same typed error through the CLI (the emulator as a subprocess) and through the
HTTP API (the HTTP emulator as a subprocess, over TLS with a private CA), acting as YunoHost 12
and as 11.2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import yunohost_emulator as emulator_module
from yunohost_client import (
    USER_CLASH,
    ApiBackend,
    Call,
    CliBackend,
    YunohostAlreadyExists,
    YunohostBusy,
    YunohostClient,
    YunohostError,
    YunohostNotFound,
    YunohostPermanent,
    YunohostTransient,
)

from .conftest import API_ADMIN, API_PASSWORD, http_emulator_process, sha256

BIN = Path(__file__).resolve().parents[2] / "yunohost_emulator" / "bin" / "yunohost"
MAIN = "blahaj.land"
PASSWORD = "Tr0ub4dor&3x"


@dataclass
class Target:
    client: YunohostClient
    state: Path
    backend: str
    version: str

    def data(self) -> dict[str, Any]:
        return emulator_module.read_state(str(self.state))

    def add_fault(self, **fault: Any) -> None:
        emulator_module.add_fault(fault, str(self.state))

    def log(self, command: str) -> list[dict[str, Any]]:
        words = command.split()
        return [e for e in self.data()["log"] if e["argv"][: len(words)] == words]


def api_backend(url: str, cert: Path, version: str, **kwargs: Any) -> ApiBackend:
    session = requests.Session()
    session.trust_env = False  # no proxy or CA bundle from the environment between the test and 127.0.0.1
    kwargs.setdefault("timeout", (5, 30))
    return ApiBackend(url, f"{API_ADMIN}:{API_PASSWORD}", verify=str(cert), version=version, session=session, **kwargs)


@pytest.fixture(params=["cli", "api"])
def backend(request) -> str:
    return request.param


@pytest.fixture(params=["12", "11"])
def version(request) -> str:
    return request.param


@pytest.fixture
def target(backend: str, version: str, tmp_path: Path, tls_cert: tuple[Path, Path]) -> Iterator[Target]:
    state = tmp_path / "state.json"
    if backend == "cli":
        env = {"YUNOHOST_EMULATOR_STATE": str(state), "YUNOHOST_DOMAIN": MAIN, "YUNOHOST_EMULATOR_VERSION": version}
        yield Target(
            CliBackend([sys.executable, str(BIN)], timeout=30, lock_timeout=1, env=env, version=version),
            state,
            backend,
            version,
        )
        return
    with http_emulator_process(state, version=version, tls=tls_cert, lock_timeout=1) as url:
        yield Target(api_backend(url, tls_cert[0], version), state, backend, version)


@pytest.fixture
def holder(target: Target) -> Iterator[None]:
    """Another live process holds YunoHost's lock."""
    process = subprocess.Popen(["sleep", "60"])
    Path(str(target.state) + ".lock").write_text(str(process.pid))
    yield
    process.kill()
    process.wait()


def test_users(target: Target) -> None:
    created = target.client.user_create(
        username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN, mailbox_quota="500M"
    )
    assert created == {"fullname": "Camille Dupont", "username": "camille", "mail": "camille@blahaj.land"}
    assert target.client.user_list() == {
        "camille": {
            "username": "camille",
            "fullname": "Camille Dupont",
            "mail": "camille@blahaj.land",
            "mailbox-quota": "500M",
        },
    }
    updated = target.client.user_update(
        "camille", fullname="Camille Martin", password="N3w-passphrase", mailbox_quota="1G"
    )
    assert updated == {
        "username": "camille",
        "fullname": "Camille Martin",
        "mail": "camille@blahaj.land",
        "loginShell": "/bin/bash",
        "mail-aliases": [],
        "mail-forward": [],
        "mailbox-quota": {"limit": "1G", "use": "0 (0%)"},
    }
    assert target.data()["users"]["camille"]["password_sha256"] == sha256("N3w-passphrase")
    assert target.client.user_info("camille") == updated
    target.client.user_delete("camille")
    assert target.client.user_info("camille") is None
    assert target.client.user_list() == {}


def test_quota_alone_keeps_the_shell(target: Target) -> None:
    target.client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    target.client.user_update("camille", login_shell="/bin/sh")
    # What a tier change sends: the quota only (`--mailbox-quota` / the `mailbox_quota` field).
    info = target.client.user_update("camille", mailbox_quota="2G")
    assert (info["mailbox-quota"]["limit"], info["loginShell"]) == ("2G", "/bin/sh")
    assert target.data()["users"]["camille"]["quota"] == "2G"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"username": "camille"}, YunohostAlreadyExists, "The user 'camille' already exists"),
        ({"username": "dom", "domain": "nowhere.org"}, YunohostNotFound, "Domain 'nowhere.org' unknown"),
        (
            {"username": "weak", "password": "short-1"},
            YunohostPermanent,
            "The password needs to be at least 8 characters long",
        ),
        (
            {"username": "weak", "password": "password123"},
            YunohostPermanent,
            "This password is among the most used passwords in the world. Please choose something more unique.",
        ),
        (
            {"username": "postmaster"},
            YunohostPermanent,
            "Could not create user postmaster: LDAP attribute 'mail' already exists with value 'postmaster@blahaj.land'",
        ),
        (
            {"username": "admins"},
            YunohostPermanent,
            "Could not create user admins: LDAP attribute 'mail' already exists with value 'admins@blahaj.land'",
        ),
        ({"username": "sshd"}, YunohostPermanent, "Username already exists in the list of system users"),
    ],
)
def test_user_create_refusals(target: Target, kwargs: dict[str, str], error: type[YunohostError], message: str) -> None:
    target.client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    arguments = {"fullname": "Someone Else", "password": PASSWORD, "domain": MAIN, **kwargs}
    if target.backend == "api" and message.startswith("Could not create user"):
        message = USER_CLASH.format(username=kwargs["username"])  # the API's bare HTML 500 (docs/yunohost.md §10.4)
    with pytest.raises(error) as exc:
        target.client.user_create(**arguments)
    assert type(exc.value) is error and exc.value.message == message
    assert list(target.data()["users"]) == ["camille"]


def test_unknown_user(target: Target) -> None:
    assert target.client.user_info("ghost") is None
    with pytest.raises(YunohostNotFound, match=r"^Unknown user: ghost$"):
        target.client.user_update("ghost", mailbox_quota="1G", login_shell="/bin/bash")
    with pytest.raises(YunohostNotFound, match=r"^Unknown user: ghost$"):
        target.client.user_delete("ghost")


def test_domains_and_certificates(target: Target) -> None:
    target.client.domain_add("Example.ORG")
    assert target.client.domain_list() == {"domains": [MAIN, "example.org"], "main": MAIN}
    with pytest.raises(YunohostAlreadyExists, match=r"^The domain already exists$"):
        target.client.domain_add("example.org")
    assert target.client.cert_status("example.org")["CA_type"] == "selfsigned"
    target.client.cert_install("example.org")
    assert target.client.cert_status("example.org") == {
        "subject": "example.org",
        "CA_type": "letsencrypt",
        "validity": 89,
        "summary": "letsencrypt",
        "ACME_eligible": False,
    }
    with pytest.raises(YunohostNotFound, match=r"^Domain 'nowhere.org' unknown$"):
        target.client.cert_install("nowhere.org")
    target.client.domain_remove("example.org")
    assert target.client.domain_list()["domains"] == [MAIN]
    with pytest.raises(YunohostNotFound, match=r"^Domain 'example.org' unknown$"):
        target.client.domain_remove("example.org")
    with pytest.raises(YunohostPermanent, match=r"^You cannot remove 'blahaj.land' since it's the main domain"):
        target.client.domain_remove(MAIN)


def test_webapps(target: Target) -> None:
    target.client.domain_add("example.org")
    first = target.client.webapp_install(
        domain="example.org", path="/", with_sftp=True, password=PASSWORD, label="Site of camille"
    )
    second = target.client.webapp_install(domain=MAIN, path="/camille", with_sftp=False, password=None, label="Blog")
    assert (first, second) == ("my_webapp", "my_webapp__2")
    assert [(app["id"], app["name"], app["domain_path"]) for app in target.client.app_list()] == [
        ("my_webapp", "Site of camille", "example.org/"),
        ("my_webapp__2", "Blog", "blahaj.land/camille"),
    ]
    target.client.webapp_set_sftp_password("my_webapp__2", "An0ther-passphrase")
    settings = target.data()["apps"][1]["settings"]
    assert (settings["with_sftp"], settings["password_sha256"]) == (1, sha256("An0ther-passphrase"))
    with pytest.raises(YunohostPermanent, match=r"^This URL is either unavailable"):
        target.client.webapp_install(domain="example.org", path="/", with_sftp=False, password=None, label="Again")
    target.client.app_remove("my_webapp")
    assert [app["id"] for app in target.client.app_list()] == ["my_webapp__2"]
    with pytest.raises(YunohostNotFound, match=r"^Could not find my_webapp in the list of installed apps"):
        target.client.app_remove("my_webapp")
    with pytest.raises(YunohostNotFound, match=r"^Could not find ghost in the list of installed apps"):
        target.client.webapp_set_sftp_password("ghost", "An0ther-passphrase")


def test_permissions(target: Target) -> None:
    """A site answering to its owner and the admins only, then public again (docs/yunohost.md §1.10)."""
    target.client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    target.client.webapp_install(domain=MAIN, path="/camille", with_sftp=False, password=None, label="Blog")
    assert target.client.permission_info("my_webapp.main")["allowed"] == ["visitors"]
    target.client.permission_remove("my_webapp.main", ["visitors"])
    target.client.permission_add("my_webapp.main", ["admins", "camille"])
    info = target.client.permission_info("my_webapp.main")
    assert (info["allowed"], info["corresponding_users"]) == (["admins", "camille"], ["camille"])
    # Idempotent, as YunoHost: a name already (dis)allowed is only a warning.
    target.client.permission_remove("my_webapp.main", ["visitors"])
    target.client.permission_add("my_webapp.main", ["camille"])
    assert target.client.app_list()[0]["id"] == "my_webapp"
    target.client.permission_add("my_webapp.main", ["visitors"])
    target.client.permission_remove("my_webapp.main", ["admins", "camille"])
    assert target.client.permission_info("my_webapp.main")["allowed"] == ["visitors"]
    with pytest.raises(YunohostNotFound, match=r"^Permission 'ghost.main' not found$"):
        target.client.permission_add("ghost.main", ["admins"])
    with pytest.raises(YunohostNotFound, match=r"^Permission 'ghost.main' not found$"):
        target.client.permission_info("ghost.main")
    with pytest.raises(YunohostPermanent, match=r"^The group 'ghost' is unknown$") as exc:
        target.client.permission_add("my_webapp.main", ["ghost"])
    assert type(exc.value) is YunohostPermanent
    assert target.client.permission_info("my_webapp.main")["allowed"] == ["visitors"]


def test_domain_remove_takes_its_apps(target: Target) -> None:
    target.client.domain_add("example.org")
    target.client.webapp_install(domain="example.org", path="/", with_sftp=False, password=None, label="Site")
    target.client.domain_remove("example.org", remove_apps=True)
    assert target.client.app_list() == []


def test_domain_remove_with_force_skips_the_existence_check_and_fails_in_ldap(target: Target) -> None:
    # docs/yunohost.md §1.8: --force is for a half-failed `domain add`; a domain already gone
    # fails in the LDAP delete (HTTP 500), while without it the answer is "unknown domain".
    with pytest.raises(YunohostNotFound):
        target.client.domain_remove("gone.example.org")
    with pytest.raises(YunohostError) as exc:
        target.client.domain_remove("gone.example.org", remove_apps=True)
    assert not isinstance(exc.value, YunohostNotFound)
    assert exc.value.message.startswith("Unable to delete domain gone.example.org: ")
    assert "No such object" in exc.value.message
    assert exc.value.exit_code == (1 if target.backend == "cli" else 500)


def test_busy_lock(target: Target, holder: None) -> None:
    with pytest.raises(YunohostBusy) as exc:
        target.client.domain_add("example.org")
    assert exc.value.message == (
        "There is already a YunoHost operation running. Please wait for it to finish before running another one."
    )
    # Read-only commands skip the lock (docs/yunohost.md §3).
    assert target.client.domain_list()["domains"] == [MAIN]


def test_unknown_failures_are_transient(target: Target) -> None:
    prefix = "ERROR " if target.version == "12" else ""  # 11 prints bare lines (docs/yunohost.md §2.3)
    target.add_fault(command="user create", exit=1, stderr=prefix + "Something odd happened in slapd")
    with pytest.raises(YunohostTransient) as exc:
        target.client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    assert exc.value.message == "Something odd happened in slapd"
    target.client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    assert [entry["exit"] for entry in target.log("user create")] == [1, 0]


def test_version_specific_options(target: Target) -> None:
    """`user delete --force` exists in 12 only (docs/yunohost.md §1.3): 11 refuses it."""
    target.client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    call = Call("user delete", ["user", "delete", "camille", "--force"], "DELETE", "/users/camille", {"force": "true"})
    if target.version == "12":
        target.client.execute(call)
        assert target.client.user_info("camille") is None
    else:
        with pytest.raises(YunohostPermanent, match="unrecognized arguments: --force"):
            target.client.execute(call)
        assert target.client.user_info("camille") is not None


def test_both_backends_log_the_same_commands(target: Target) -> None:
    target.client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    target.client.user_update("camille", mailbox_quota="1G")
    target.client.user_delete("camille")
    commands = [" ".join(entry["argv"][:2]) for entry in target.data()["log"]]
    assert commands == ["user create", "user info", "user update", "user delete"]
    assert all(PASSWORD not in " ".join(entry["argv"]) for entry in target.data()["log"])
