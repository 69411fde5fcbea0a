"""The API backend's unhappy paths, against the HTTP emulator (a subprocess) or a tiny server on
127.0.0.1 that misbehaves: each becomes a typed error, and the lane retries what a retry can fix."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from accounts import yunohost as accounts_lane
from provisioning.models import Operation
from yunohost_client import (
    REDACTED,
    ApiBackend,
    CliBackend,
    YunohostBusy,
    YunohostPermanent,
    YunohostTransient,
    get_client,
)

from .conftest import API_ADMIN, API_PASSWORD, http_emulator_process, run_lane
from .test_contract import BIN, MAIN, PASSWORD, api_backend

CREATE = {"username": "camille", "fullname": "Camille Dupont", "password": PASSWORD, "domain": MAIN}


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


@pytest.fixture
def url(state: Path, tls_cert: tuple[Path, Path]) -> Iterator[str]:
    with http_emulator_process(state, tls=tls_cert, lock_timeout=1) as base:
        yield base


def _fault(state: Path, **fault: object) -> None:
    import yunohost_emulator as emulator

    emulator.add_fault(dict(fault), str(state))


# --- The HTTP emulator's own rules (docs/yunohost.md §5.2, §5.3) -------------------------------------


def test_login_cookie_csrf_and_sessions(url: str, tls_cert: tuple[Path, Path]) -> None:
    session = requests.Session()
    session.trust_env, session.verify = False, str(tls_cert[0])
    assert (session.get(f"{url}/users").status_code, session.get(f"{url}/users").text) == (
        401,
        "Authentication required",
    )
    no_header = session.post(f"{url}/login", data={"credentials": f"{API_ADMIN}:{API_PASSWORD}"})
    assert (no_header.status_code, no_header.text) == (403, "CSRF protection")
    headers = {"X-Requested-With": "XMLHttpRequest"}
    missing = session.post(f"{url}/login", data={}, headers=headers)
    assert (missing.status_code, missing.text) == (400, "Missing credentials parameter")
    wrong = session.post(f"{url}/login", data={"credentials": f"{API_ADMIN}:nope"}, headers=headers)
    assert (wrong.status_code, wrong.text) == (401, "Invalid password or username")
    ok = session.post(f"{url}/login", data={"credentials": f"{API_ADMIN}:{API_PASSWORD}"}, headers=headers)
    assert (ok.status_code, ok.text) == (200, "Logged in")
    cookie = ok.headers["Set-Cookie"]
    assert cookie.startswith("yunohost.admin=") and "Secure" in cookie and "Path=/yunohost/api" in cookie
    assert session.get(f"{url}/users").json() == {"users": {}}
    # moulinette 12: a JSON body replaces the path parameters, so PUT /users/<name> loses the name.
    as_json = session.put(f"{url}/users/camille", json={"fullname": "X"})
    assert (as_json.status_code, as_json.text) == (400, "Argument 'username' is required")
    assert session.get(f"{url}/logout").status_code == 200
    assert session.get(f"{url}/users").status_code == 401


def test_an_expired_session_logs_in_again_once(state: Path, tls_cert: tuple[Path, Path], caplog) -> None:
    caplog.set_level(logging.INFO, logger="provisioning.yunohost")
    with http_emulator_process(state, tls=tls_cert, session_ttl=0.5) as base:
        api = api_backend(base, tls_cert[0], "12")
        assert api.user_info("ghost") is None
        first_cookie = api.session.cookies.get("yunohost.admin")
        time.sleep(0.8)  # the session's lifetime must really pass: nothing to poll for
        assert api.user_info("ghost") is None
    logins = [r for r in caplog.records if "POST /login" in r.getMessage()]
    assert len(logins) == 2 and api.session.cookies.get("yunohost.admin") != first_cookie
    assert [r.getMessage().split(":")[1].split(" after")[0].strip() for r in caplog.records[-3:]] == [
        "HTTP 401",
        "HTTP 200",
        "HTTP 400",
    ]


def test_a_second_writer_waits_for_the_first_cli_or_api(state: Path, tls_cert: tuple[Path, Path]) -> None:
    import yunohost_emulator as emulator

    with emulator.transaction(str(state)) as data:
        data["faults"], data["delays"] = [], {"user create": 1.0}
    with http_emulator_process(state, tls=tls_cert, lock_timeout=10) as base:
        api = api_backend(base, tls_cert[0], "12")
        cli = CliBackend([sys.executable, str(BIN)], lock_timeout=10, env={"YUNOHOST_EMULATOR_STATE": str(state)})
        thread = threading.Thread(target=lambda: api.user_create(**{**CREATE, "username": "viaapi"}))
        thread.start()
        cli.user_create(**{**CREATE, "username": "viacli"})
        thread.join(timeout=30)
    log = [e for e in emulator.read_state(str(state))["log"] if e["argv"][:2] == ["user", "create"]]
    assert sorted((e["argv"][2], e["exit"]) for e in log) == [("viaapi", 0), ("viacli", 0)]
    first, second = sorted(log, key=lambda e: e["started"])
    assert second["started"] >= first["finished"]  # one at a time, across both interfaces


def test_a_held_lock_is_busy_after_the_lock_timeout(url: str, state: Path, tls_cert: tuple[Path, Path]) -> None:
    holder = subprocess.Popen(["sleep", "60"])
    try:
        Path(str(state) + ".lock").write_text(str(holder.pid))
        with pytest.raises(YunohostBusy):
            api_backend(url, tls_cert[0], "12").user_create(**CREATE)
    finally:
        holder.kill()
        holder.wait()


# --- Failures of the transport: typed and transient -------------------------------------------------


def test_unreachable_is_transient(tls_cert: tuple[Path, Path]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        api = api_backend(f"https://127.0.0.1:{port}/yunohost/api", tls_cert[0], "12", timeout=(2, 2))
        with pytest.raises(YunohostTransient, match=r"ConnectionError") as exc:
            api.user_list()
    assert API_PASSWORD not in str(exc.value)


def test_an_unknown_certificate_is_a_transient_tls_failure(url: str) -> None:
    session = requests.Session()
    session.trust_env = False
    # The system's CAs do not know the emulator's private CA: verification is on, so this fails.
    api = ApiBackend(url, f"{API_ADMIN}:{API_PASSWORD}", timeout=(5, 5), session=session)
    with pytest.raises(YunohostTransient, match=r"SSLError"):
        api.user_list()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"status": 502, "body": "<html><body><h1>502 Bad Gateway</h1></body></html>", "content_type": "text/html"},
            "502 Bad Gateway",
        ),
        ({"status": 200, "body": '{"users": {', "content_type": "application/json"}, "malformed JSON"),
        ({"status": 200, "body": "<html>Please log in</html>", "content_type": "text/html"}, "non-JSON body"),
        ({"crash": True, "message": f"KeyError: {PASSWORD}"}, "yunohost-api crashed (HTTP 500)"),
    ],
)
def test_bad_answers_are_transient(url: str, state: Path, tls_cert, fault: dict, message: str) -> None:
    api = api_backend(url, tls_cert[0], "12")
    api.user_list()
    _fault(state, command="user list", **fault)
    with pytest.raises(YunohostTransient) as exc:
        api.user_list()
    assert message in exc.value.message and PASSWORD not in repr(exc.value) + exc.value.stdout


def test_a_timeout_is_transient(url: str, state: Path, tls_cert) -> None:
    api = api_backend(url, tls_cert[0], "12", timeout=(5, 0.5))
    api.user_list()
    _fault(state, command="user list", hang=2, status=200, body="{}", content_type="application/json")
    with pytest.raises(YunohostTransient, match=r"ReadTimeout"):
        api.user_list()


def test_a_dropped_connection_is_transient(url: str, state: Path, tls_cert) -> None:
    api = api_backend(url, tls_cert[0], "12")
    api.user_list()
    _fault(state, command="user list", kill=True)
    with pytest.raises(YunohostTransient, match=r"ConnectionError"):
        api.user_list()


def test_wrong_credentials_are_permanent_and_secret(url: str, tls_cert) -> None:
    session = requests.Session()
    session.trust_env = False
    api = ApiBackend(url, f"{API_ADMIN}:Wr0ng-Secret", verify=str(tls_cert[0]), session=session)
    with pytest.raises(YunohostPermanent) as exc:
        api.user_list()
    assert exc.value.message == (
        "YunoHost refused the admin credentials (YUNOHOST_API_PASSWORD): 401 Invalid password or username"
    )
    assert "Wr0ng-Secret" not in repr(exc.value) + str(exc.value)


def test_neither_password_nor_cookie_is_logged(url: str, tls_cert, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 and requests included
    api = api_backend(url, tls_cert[0], "12")
    api.user_create(**CREATE)
    api.user_update("camille", password="N3w-passphrase", mailbox_quota="1G")
    cookie = api.session.cookies.get("yunohost.admin")
    assert cookie and caplog.records
    for secret in (API_PASSWORD, PASSWORD, "N3w-passphrase", cookie):
        assert secret not in caplog.text
    assert REDACTED not in repr(api) and API_PASSWORD not in repr(api)


# --- The lane on the API backend --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_lane_retries_a_bad_gateway_then_succeeds(http_emulator, emulator, signed_up, welcomes, settings):
    settings.YUNOHOST_RETRY_BACKOFF = 0
    alice = signed_up("alice")
    emulator.add_fault(command="user create", status=502, body="<html>502 Bad Gateway</html>", content_type="text/html")
    operation = accounts_lane.account_create(user=alice)
    run_lane()
    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == (Operation.Status.SUCCEEDED, 2)
    assert [(e["exit"], e["status"]) for e in emulator.log("user create")] == [(1, 502), (0, 201)]
    assert emulator.state()["users"]["alice"]["quota"] == "500M" and welcomes == ["alice"]


@pytest.mark.django_db
def test_wrong_admin_credentials_fail_the_operation_and_tell_staff(
    http_emulator, emulator, signed_up, staff_notes, settings
):
    settings.YUNOHOST_API_PASSWORD = f"{API_ADMIN}:Wr0ng-Secret"
    alice = signed_up("alice")
    operation = accounts_lane.account_create(user=alice)
    run_lane()
    operation.refresh_from_db()
    alice.refresh_from_db()
    assert (operation.status, operation.attempts) == (Operation.Status.FAILED, 1)
    assert operation.error == (
        "YunoHost refused the admin credentials (YUNOHOST_API_PASSWORD): 401 Invalid password or username"
    )
    assert alice.status == alice.Status.PROVISIONING_FAILED
    assert [event for event, _ in staff_notes] == ["provisioning_failed"]  # told by the account's owner
    assert "Wr0ng-Secret" not in staff_notes[0][1] and "refused the admin credentials" in staff_notes[0][1]
    assert emulator.state()["users"] == {}


def test_get_client_builds_the_api_backend(settings, tls_cert) -> None:
    settings.YUNOHOST_BACKEND = "api"
    settings.YUNOHOST_API_URL = "https://yunohost.example.org/yunohost/api/"
    settings.YUNOHOST_API_PASSWORD = "admin:pw"
    settings.YUNOHOST_API_CA_BUNDLE = str(tls_cert[0])
    settings.YUNOHOST_API_CONNECT_TIMEOUT = 7
    settings.YUNOHOST_TIMEOUT = 120
    settings.YUNOHOST_VERSION = "11"
    client = get_client()
    assert isinstance(client, ApiBackend)
    assert (client.url, client.timeout, client.session.verify, client.version) == (
        "https://yunohost.example.org/yunohost/api",
        (7.0, 120.0),
        str(tls_cert[0]),
        "11",
    )
    settings.YUNOHOST_API_CA_BUNDLE = ""
    default = get_client()
    assert isinstance(default, ApiBackend) and default.verify is True and default.session.verify is True


def test_an_unknown_yunohost_version_is_a_configuration_error(settings) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.YUNOHOST_VERSION = "13"
    with pytest.raises(ImproperlyConfigured, match=r"^YUNOHOST_VERSION must be '11' or '12', not '13'$"):
        get_client()
    settings.YUNOHOST_VERSION = "11"
    cli = get_client()
    assert isinstance(cli, CliBackend) and cli.version == "11"


def test_the_http_emulator_acts_as_yunohost_11(state: Path, tls_cert: tuple[Path, Path]) -> None:
    session = requests.Session()
    session.trust_env, session.verify = False, str(tls_cert[0])
    headers = {"X-Requested-With": "XMLHttpRequest"}
    with http_emulator_process(state, version="11", tls=tls_cert) as base:
        login = session.post(f"{base}/login", data={"credentials": f"{API_ADMIN}:{API_PASSWORD}"}, headers=headers)
        assert login.status_code == 200 and "Path=" not in login.headers["Set-Cookie"]  # a bottle cookie (§5.6)
        # `GET /domains/*/cert` is 12 only: 11 takes "*" for a domain name.
        everything = session.get(f"{base}/domains/*/cert")
        assert (everything.status_code, everything.json()["error"]) == (400, "Domain '*' unknown")
        # The deprecated names still create a user in 11 (docs/yunohost.md §1.1).
        created = session.post(
            f"{base}/users",
            headers=headers,
            data={
                "username": "camille",
                "firstname": "Camille",
                "lastname": "Dupont",
                "password": PASSWORD,
                "domain": MAIN,
            },
        )
        assert (created.status_code, created.json()) == (
            201,
            {"fullname": "Camille Dupont", "username": "camille", "mail": "camille@blahaj.land"},
        )
