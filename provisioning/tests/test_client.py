"""The YunoHost client against the emulator (a subprocess); the API backend: test_contract.py, test_api_backend.py."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from yunohost_client import (
    REDACTED,
    ApiBackend,
    Call,
    CliBackend,
    YunohostAlreadyExists,
    YunohostBusy,
    YunohostError,
    YunohostNotFound,
    YunohostPermanent,
    YunohostTransient,
    YunohostUnknownOutcome,
    classify,
    get_client,
    message_from_stderr,
)

BIN = Path(__file__).resolve().parents[2] / "yunohost_emulator" / "bin" / "yunohost"
CLI = [sys.executable, str(BIN)]  # bin/yunohost with this interpreter: no pyenv shim per run
MAIN = "blahaj.land"
PASSWORD = "Tr0ub4dor&3x"
LOCK_MESSAGE = "There is already a YunoHost operation running. Please wait for it to finish before running another one."


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


def make_client(state: Path, **kwargs: Any) -> CliBackend:
    env = {"YUNOHOST_EMULATOR_STATE": str(state), "YUNOHOST_DOMAIN": MAIN, **kwargs.pop("env", {})}
    return CliBackend(CLI, timeout=kwargs.pop("timeout", 30), lock_timeout=1, env=env, lock_file=f"{state}.lock")


@pytest.fixture
def client(state: Path) -> CliBackend:
    return make_client(state)


@pytest.fixture
def holder(state: Path) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(["sleep", "60"])
    Path(str(state) + ".lock").write_text(str(proc.pid))
    yield proc
    proc.kill()
    proc.wait()


def load(state: Path) -> dict[str, Any]:
    return json.loads(state.read_text())


def arm(client: CliBackend, state: Path, fault: dict[str, Any]) -> None:
    client.domain_list()  # creates the state file
    data = load(state)
    data["faults"].append(fault)
    state.write_text(json.dumps(data))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- Happy paths --------------------------------------------------------------------------------


def test_user_lifecycle(client: CliBackend, state: Path) -> None:
    created = client.user_create(
        username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN, mailbox_quota="500M"
    )
    assert created == {"fullname": "Camille Dupont", "username": "camille", "mail": "camille@blahaj.land"}
    assert client.user_list() == {
        "camille": {
            "username": "camille",
            "fullname": "Camille Dupont",
            "mail": "camille@blahaj.land",
            "mailbox-quota": "500M",
        }
    }
    updated = client.user_update("camille", fullname="Camille Martin", password="N3w-passphrase", mailbox_quota="1G")
    assert (updated["fullname"], updated["mailbox-quota"]["limit"]) == ("Camille Martin", "1G")
    assert load(state)["users"]["camille"]["password_sha256"] == sha256("N3w-passphrase")
    client.user_delete("camille")
    assert client.user_info("camille") is None


def test_user_update_keeps_the_login_shell(client: CliBackend, state: Path) -> None:
    client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    client.user_update("camille", login_shell="/bin/sh")
    # A bare `user update` would reset it to /bin/bash (docs/yunohost.md §1.2).
    assert client.user_update("camille", fullname="Camille Martin")["loginShell"] == "/bin/sh"


def test_domains_certificates_and_webapps(client: CliBackend, state: Path) -> None:
    client.domain_add("Alice.Blahaj.Land")
    assert client.domain_list() == {"domains": [MAIN, "alice.blahaj.land"], "main": MAIN}
    client.cert_install("alice.blahaj.land")
    assert load(state)["domains"]["alice.blahaj.land"]["cert"] == "letsencrypt"
    first = client.webapp_install(
        domain="alice.blahaj.land", with_sftp=True, password="Sftp pass&=1", label="Site of alice"
    )
    second = client.webapp_install(domain=MAIN, path="/bob/", with_sftp=False, password=None, label="Bob")
    assert (first, second) == ("my_webapp", "my_webapp__2")
    assert [(a["id"], a["name"], a["domain_path"]) for a in client.app_list()] == [
        ("my_webapp", "Site of alice", "alice.blahaj.land/"),
        ("my_webapp__2", "Bob", "blahaj.land/bob"),
    ]
    client.webapp_set_sftp_password("my_webapp__2", "An0ther pass+%")
    settings = load(state)["apps"][1]["settings"]
    assert (settings["with_sftp"], settings["password_sha256"]) == (1, sha256("An0ther pass+%"))
    client.domain_remove("alice.blahaj.land", remove_apps=True)  # removes its app too
    assert [a["id"] for a in client.app_list()] == ["my_webapp__2"]
    client.app_remove("my_webapp__2")
    assert client.app_list() == []


# --- Typed errors -------------------------------------------------------------------------------


def test_already_exists_lets_callers_be_idempotent(client: CliBackend) -> None:
    client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    with pytest.raises(YunohostAlreadyExists) as exc:
        client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    assert (exc.value.message, exc.value.command, exc.value.exit_code) == (
        "The user 'camille' already exists",
        "user create",
        1,
    )
    assert not exc.value.retryable
    client.domain_add("example.org")
    with pytest.raises(YunohostAlreadyExists, match=r"^The domain already exists$"):
        client.domain_add("example.org")


def test_not_found(client: CliBackend) -> None:
    with pytest.raises(YunohostNotFound, match=r"^Unknown user: ghost$"):
        client.user_delete("ghost")
    with pytest.raises(YunohostNotFound, match=r"^Unknown user: ghost$"):
        client.user_update("ghost", fullname="Ghost Host")
    with pytest.raises(YunohostNotFound, match=r"^Could not find ghost in the list of installed apps"):
        client.app_remove("ghost")
    with pytest.raises(YunohostNotFound, match=r"^Domain 'ghost.org' unknown$"):
        client.domain_remove("ghost.org")
    with pytest.raises(YunohostNotFound):
        client.webapp_set_sftp_password("ghost", PASSWORD)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"password": "Zq9!x"}, "The password needs to be at least 8 characters long"),
        (
            {"username": "admins", "domain": "other.org"},
            "Could not create user admins: LDAP attribute 'cn' already exists with value 'admins'",
        ),
        ({"username": "webmaster", "domain": "other.org"}, "This e-mail address is reserved for the admins group"),
        ({"username": "postfix"}, "Username already exists in the list of system users"),
    ],
)
def test_server_side_refusals_are_permanent(client: CliBackend, kwargs: dict[str, str], message: str) -> None:
    client.domain_add("other.org")
    args = {"username": "camille", "fullname": "Camille Dupont", "password": PASSWORD, "domain": MAIN, **kwargs}
    with pytest.raises(YunohostPermanent) as exc:
        client.user_create(**args)
    assert type(exc.value) is YunohostPermanent and exc.value.message == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"username": "Camille"},
        {"username": "camille\n"},  # moulinette's re.match would let this through
        {"fullname": "$(touch /tmp/x)"},
        {"fullname": "a" * 40 + "!"},  # makes YunoHost's own pattern backtrack for minutes
        {"password": "ab"},
        {"password": "x" * 127},
        {"password": "line\nbreak"},
        {"domain": "Blahaj.land;rm"},
        {"mailbox_quota": "500"},
        {"mailbox_quota": "500MB"},
    ],
)
def test_bad_input_is_refused_before_running_anything(client: CliBackend, state: Path, kwargs: dict[str, str]) -> None:
    args = {"username": "camille", "fullname": "Camille Dupont", "password": PASSWORD, "domain": MAIN, **kwargs}
    with pytest.raises(YunohostPermanent) as exc:
        client.user_create(**args)
    assert exc.value.exit_code is None
    assert not state.exists()  # the emulator never ran
    if "password" in kwargs:
        assert kwargs["password"] not in str(exc.value)


def test_webapp_input_is_checked(client: CliBackend, state: Path) -> None:
    with pytest.raises(YunohostPermanent, match=r"SFTP access needs a password"):
        client.webapp_install(domain=MAIN, with_sftp=True, password=None, label="Site")
    with pytest.raises(YunohostPermanent, match=r"can not contain"):
        client.webapp_install(domain=MAIN, with_sftp=True, password="Zq9!{abcd}", label="Site")
    with pytest.raises(YunohostPermanent, match=r"Invalid label"):
        client.webapp_install(domain=MAIN, with_sftp=False, password=None, label="two\nlines")
    assert not state.exists()


def test_busy_when_the_lock_is_held(client: CliBackend, holder: subprocess.Popen) -> None:
    with pytest.raises(YunohostBusy) as exc:
        client.domain_add("example.org")
    assert exc.value.message == LOCK_MESSAGE and exc.value.retryable
    assert client.domain_list()["domains"] == [MAIN]  # read-only commands still run


def test_a_timeout_leaves_the_command_running_and_its_outcome_unknown(state: Path) -> None:
    # Killing it would leave YunoHost orphaned mid-operation (docs/yunohost.md §11).
    slow = make_client(state, timeout=1, env={"YUNOHOST_EMULATOR_DELAY_DOMAIN_ADD": "3"})
    lock = Path(str(state) + ".lock")
    with pytest.raises(YunohostUnknownOutcome, match=r"^yunohost domain add did not finish within 1 s; it was") as exc:
        slow.domain_add("example.org")
    assert exc.value.retryable and exc.value.exit_code is None
    assert slow.lock_free() is False  # still running, its lock held
    with pytest.raises(YunohostBusy):
        make_client(state).domain_add("example.org")
    deadline = time.monotonic() + 20
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert slow.lock_free() is True
    assert "example.org" in make_client(state).domain_list()["domains"]  # it ran to its end


def test_crash_and_unknown_failures_are_transient(client: CliBackend, state: Path) -> None:
    arm(client, state, {"command": "user create", "crash": True})
    with pytest.raises(YunohostTransient, match=r"^RuntimeError: emulated crash$") as exc:
        client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    assert "Traceback" in exc.value.stderr
    arm(client, state, {"command": "user create", "stderr": "ERROR Unable to reach LDAP server"})
    with pytest.raises(YunohostTransient, match=r"^Unable to reach LDAP server$"):
        client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)


def test_retry_after_a_lost_answer_finds_the_user(client: CliBackend, state: Path) -> None:
    # The command took effect but the caller saw a failure: the retry reports AlreadyExists.
    arm(client, state, {"command": "user create", "after": True, "stderr": "ERROR connection lost"})
    with pytest.raises(YunohostTransient):
        client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)
    with pytest.raises(YunohostAlreadyExists):
        client.user_create(username="camille", fullname="Camille Dupont", password=PASSWORD, domain=MAIN)


# --- Secrets and shells -------------------------------------------------------------------------


def test_secrets_are_redacted_everywhere(client: CliBackend, state: Path) -> None:
    secret = "S3cret pass&word=1"
    echo = f"ERROR could not set {secret} (args: password={urllib.parse.quote_plus(secret)}, {json.dumps(secret)})"
    arm(client, state, {"command": "user create", "stderr": echo, "stdout": f"INFO {secret}"})
    with pytest.raises(YunohostTransient) as exc:
        client.user_create(username="camille", fullname="Camille Dupont", password=secret, domain=MAIN)
    error = exc.value
    for text in (str(error), repr(error), error.message, error.stderr, error.stdout, " ".join(error.argv)):
        assert secret not in text and urllib.parse.quote_plus(secret) not in text and "S3cret" not in text
    assert error.message == f'could not set {REDACTED} (args: password={REDACTED}, "{REDACTED}")'
    assert f"--password={REDACTED}" in error.argv


def test_calls_are_redacted_in_their_repr() -> None:
    call = Call(
        "user create",
        ["user", "create", "a", "--password=S3cret-pw"],
        "POST",
        "/users",
        {"password": "S3cret-pw"},
        ("S3cret-pw",),
    )
    assert "S3cret-pw" not in repr(call) and f"--password={REDACTED}" in repr(call)


def test_results_are_redacted(client: CliBackend, state: Path) -> None:
    arm(client, state, {"command": "user list", "after": True, "exit": 0, "stderr": "WARNING hunter2-secret"})
    result = client.run(["user", "list"], secrets=["hunter2-secret"])
    assert result.stderr == f"WARNING {REDACTED}\n"
    assert result.data == {"users": {}}


def test_shell_metacharacters_never_reach_a_shell(client: CliBackend, state: Path) -> None:
    short = Path(tempfile.mkdtemp(prefix="yh"))  # tmp_path would make the password too long
    marker = short / "p"
    password = f"a'b;$(touch {marker})`touch {marker}`\"c\\d"
    client.user_create(username="camille", fullname="Camille Dupont", password=password, domain=MAIN)
    assert not marker.exists()
    assert load(state)["users"]["camille"]["password_sha256"] == sha256(password)
    client.user_update("camille", password=f"-{password}")  # a leading dash is not an option either
    assert load(state)["users"]["camille"]["password_sha256"] == sha256(f"-{password}")
    assert not marker.exists()
    short.rmdir()


# --- Parsing helpers ----------------------------------------------------------------------------


def test_message_from_stderr_strips_level_prefixes() -> None:
    assert message_from_stderr("WARNING slow\nERROR Unknown user: bob\n") == "Unknown user: bob"
    assert message_from_stderr("\x1b[1;31mError:\x1b[0m Unknown user: bob\n") == "Unknown user: bob"
    multi = "ERROR This URL is either unavailable, or conflicts with the already installed app(s):\n * a.org/ → A (a)\n"
    assert message_from_stderr(multi) == multi.removeprefix("ERROR ").rstrip()
    usage = "usage: yunohost [-h] {user,domain,app} ...\nyunohost: error: unrecognized arguments: -f\n"
    assert message_from_stderr(usage) == "yunohost: error: unrecognized arguments: -f"


def test_classify() -> None:
    assert classify(LOCK_MESSAGE) is YunohostBusy
    assert classify("Unknown user: bob") is YunohostNotFound
    assert classify("The user 'bob' already exists") is YunohostAlreadyExists
    assert classify("Invalid argument 'username': Must be ...") is YunohostPermanent
    assert classify("anything", exit_code=2) is YunohostPermanent
    assert classify("Let's Encrypt certificate install failed for a.org") is YunohostTransient


def test_get_client_reads_django_settings(state: Path) -> None:
    from django.conf import settings
    from django.test import override_settings

    if not settings.configured:
        settings.configure()
    with override_settings(
        YUNOHOST_BACKEND="cli",
        YUNOHOST_BIN=str(BIN),
        YUNOHOST_TIMEOUT=12,
        YUNOHOST_LOCK_TIMEOUT=2,
        YUNOHOST_EMULATOR_STATE=str(state),
        YUNOHOST_DOMAIN="example.org",
    ):
        client = get_client()
    assert isinstance(client, CliBackend)
    assert (client.timeout, client.lock_timeout) == (12, 2)
    assert client.domain_list() == {"domains": ["example.org"], "main": "example.org"}
    with override_settings(
        YUNOHOST_BACKEND="api", YUNOHOST_API_URL="https://x.org/yunohost/api/", YUNOHOST_API_PASSWORD="admin:pw"
    ):
        api = get_client()
    assert isinstance(api, ApiBackend) and api.url == "https://x.org/yunohost/api"


def test_yunohost_bin_may_be_a_command_line(state: Path) -> None:
    from django.test import override_settings

    # As production would say "sudo -n /usr/bin/yunohost": split into argv, never a shell.
    with override_settings(YUNOHOST_BIN=f"{sys.executable} {BIN}", YUNOHOST_EMULATOR_STATE=str(state)):
        client = get_client()
    assert client.domain_list()["main"]


def test_every_error_is_a_yunohost_error() -> None:
    for cls in (YunohostBusy, YunohostTransient, YunohostPermanent, YunohostNotFound, YunohostAlreadyExists):
        assert issubclass(cls, YunohostError)
