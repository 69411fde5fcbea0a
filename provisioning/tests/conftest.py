"""The lane's test kit: a fresh emulator per test, and a way to run the lane in this process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from blahaj import discord
from blahaj.crypto import encrypt
from conftest import PASSWORD
from provisioning import emulator as emulator_module
from provisioning import services
from provisioning.models import Operation


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

