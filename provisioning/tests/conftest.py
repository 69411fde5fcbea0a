"""The lane's test kit: a fresh emulator per test (CLI, and HTTP as a subprocess on a free port),
and a way to run the lane in this process."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

import yunohost_emulator as emulator_module
from blahaj.crypto import encrypt
from conftest import PASSWORD
from notifications import discord
from provisioning import services
from provisioning.models import Operation
from testing import ROOT


class Emulator:
    """The `yunohost` emulator's state file, as the tests look at it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def state(self) -> dict[str, Any]:
        return emulator_module.read_state(str(self.path))

    def log(self, command: str | None = None) -> list[dict[str, Any]]:
        entries = self.state()["log"]
        if command is None:
            return entries
        words = command.split()
        return [e for e in entries if e["argv"][: len(words)] == words]

    def add_fault(self, **fault: Any) -> None:
        emulator_module.add_fault(fault, str(self.path))

    @contextmanager
    def busy(self) -> Iterator[None]:
        """YunoHost's own lock, held by another live process (not an ancestor of the CLI's)."""
        holder = subprocess.Popen(["sleep", "600"])
        lock = Path(str(self.path) + ".lock")
        lock.write_text(str(holder.pid))
        try:
            yield
        finally:
            holder.kill()
            holder.wait()
            lock.unlink(missing_ok=True)


API_ADMIN = "admin"
API_PASSWORD = "Adm1n-api-Secret"


@contextmanager
def http_emulator_process(
    state: Path, *, version: str = "12", tls: tuple[Path, Path] | None = None, **options: Any
) -> Iterator[str]:
    """``python -m yunohost_emulator.http`` on a free port of 127.0.0.1; yields its base URL.

    ``options`` become ``--name value`` (``session_ttl=1`` → ``--session-ttl 1``).
    """
    argv = [
        sys.executable,
        "-m",
        "yunohost_emulator.http",
        "--state",
        str(state),
        "--port",
        "0",
        "--admin",
        API_ADMIN,
        "--version",
        version,
    ]
    if tls:
        argv += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    for name, value in options.items():
        argv += ["--" + name.replace("_", "-"), str(value)]
    env = {**os.environ, "YUNOHOST_EMULATOR_API_PASSWORD": API_PASSWORD, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        yield _listening_url(process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]


def _listening_url(process: subprocess.Popen, timeout: float = 20) -> str:
    # The port is the server's own pick (port 0), printed once it listens: no race on a free port.
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                line = process.stdout.readline()  # type: ignore[union-attr]
                if line.startswith("listening on "):
                    return line.split()[-1]
            if process.poll() is not None:
                raise RuntimeError(f"the HTTP emulator exited with {process.returncode}")
    raise RuntimeError(f"the HTTP emulator did not listen within {timeout} s")


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: the CA bundle of the tests' private YunoHost."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def http_emulator(emulator, tls_cert, settings) -> Iterator[str]:
    """The HTTP emulator over TLS on the `emulator` fixture's state, and the settings that use it."""
    with http_emulator_process(emulator.path, tls=tls_cert, lock_timeout=1) as url:
        settings.YUNOHOST_BACKEND = "api"
        settings.YUNOHOST_API_URL = url
        settings.YUNOHOST_API_PASSWORD = f"{API_ADMIN}:{API_PASSWORD}"
        settings.YUNOHOST_API_CA_BUNDLE = str(tls_cert[0])
        settings.YUNOHOST_TIMEOUT = 20
        yield url


@pytest.fixture
def emulator(tmp_path, settings) -> Emulator:
    settings.YUNOHOST_EMULATOR_STATE = str(tmp_path / "yunohost.json")
    settings.YUNOHOST_LANE_LOCK_FILE = str(tmp_path / "lane.lock")
    settings.YUNOHOST_LOCK_TIMEOUT = 0  # a busy YunoHost answers at once
    return Emulator(tmp_path / "yunohost.json")


@pytest.fixture
def signed_up(make_user):
    """A user who confirmed their email: provisioning, with the encrypted sign-up password."""
    from accounts.models import User

    def make(username: str = "alice", password: str = PASSWORD, **fields: Any) -> User:
        fields.setdefault("status", User.Status.PROVISIONING)
        return make_user(username, password=password, pending_password=encrypt(password), **fields)

    return make


def _snapshot() -> set[tuple[int, str, int, int]]:
    return set(Operation.objects.values_list("pk", "status", "attempts", "busy_waits"))


def run_lane() -> None:
    """Run every operation that can run now, as the workers would, until nothing changes."""
    for _ in range(100):
        before = _snapshot()
        due = Operation.objects.filter(status=Operation.Status.PENDING, next_attempt_at__lte=timezone.now())
        for pk in due.order_by("id").values_list("pk", flat=True):
            services.operation_run(operation_id=pk)
        if _snapshot() == before:
            return
    raise AssertionError("the lane did not settle")


@pytest.fixture
def welcomes(monkeypatch) -> list[str]:
    """The usernames `accounts.emails.send_welcome` was called for."""
    from accounts import emails

    sent: list[str] = []
    monkeypatch.setattr(emails, "send_welcome", lambda *, user: sent.append(user.username))
    return sent


@pytest.fixture
def staff_notes(monkeypatch) -> list[tuple[str, str]]:
    notes: list[tuple[str, str]] = []
    monkeypatch.setattr(discord, "notify_staff", lambda *, event, message: notes.append((event, message)))
    return notes


def sha256(text: str) -> str:
    return emulator_module._sha256(text)
