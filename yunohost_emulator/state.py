"""The JSON state file: reading it, read-modify-write under an flock, faults and the command log.

Writers replace the file atomically (write a temporary file, then ``os.replace``), so readers need
no lock. ``<state>.guard`` is the flock file that serialises every read-modify-write.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager

from .errors import EmulatorError

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

BUILTIN_GROUPS = ["admins", "all_users", "visitors"]
LOG_MAX = 10000


def sha256(secret: str) -> str:
    import hashlib  # imported late: loading OpenSSL costs start-up time to every command

    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def version() -> str:
    """The YunoHost major version to act as: "12" (default) or "11" (11.2/11.3)."""
    return "11" if os.environ.get("YUNOHOST_EMULATOR_VERSION", "").split(".")[0] == "11" else "12"


def state_path() -> str:
    path = os.environ.get("YUNOHOST_EMULATOR_STATE")
    if not path:
        raise EmulatorError(
            "YUNOHOST_EMULATOR_STATE is not set: the yunohost emulator needs the path of its JSON state file"
        )
    return path


def _initial_state() -> dict[str, Any]:
    main = os.environ.get("YUNOHOST_DOMAIN") or "blahaj.land"
    return {
        "main_domain": main,
        "domains": {main: {"cert": "selfsigned"}},
        "users": {},
        "groups": {name: {"members": []} for name in BUILTIN_GROUPS},
        "apps": [],
        "settings": {"user_strength": 1},
        "faults": [],
        "delays": {},
        "log": [],
    }


def read_state(path: str | None = None) -> dict[str, Any]:
    """The current state. Safe without a lock: writers replace the file atomically."""
    try:
        with open(path or state_path(), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return _initial_state()


@contextmanager
def flock(path: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the flock


@contextmanager
def transaction(path: str | None = None) -> Iterator[dict[str, Any]]:
    """Read-modify-write of the state under an flock, written atomically.

    The state is saved when the block ends normally or with an EmulatorError (handlers validate
    before they mutate, and consumed faults must stay consumed); any other exception discards it.
    """
    path = path or state_path()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with flock(path + ".guard"):
        state = read_state(path)
        try:
            yield state
        except EmulatorError:
            _write_state(path, state)
            raise
        _write_state(path, state)


def _write_state(path: str, state: dict[str, Any]) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(state))  # dumps, not dump: only the one-shot encoder is the C one
    os.replace(tmp, path)


def add_fault(fault: dict[str, Any], path: str | None = None) -> None:
    """Arm a fault for the next matching invocation(s), safely while other processes run."""
    with transaction(path) as state:
        state.setdefault("faults", []).append(dict(fault))


def consume_fault(command: str, path: str) -> dict[str, Any] | None:
    for fault in _env_faults():
        if fault.get("command") in (command, "*"):
            return fault
    if not read_state(path).get("faults"):
        return None  # the common case: no flock, no write
    with transaction(path) as state:
        for i, fault in enumerate(state["faults"]):
            if fault.get("command") in (command, "*"):
                fault["times"] = int(fault.get("times", 1)) - 1
                if fault["times"] <= 0:
                    del state["faults"][i]
                return fault
    return None


def _env_faults() -> list[dict[str, Any]]:
    raw = os.environ.get("YUNOHOST_EMULATOR_FAIL")
    return json.loads(raw) if raw else []


def append_log(path: str, entry: dict[str, Any]) -> None:
    with transaction(path) as state:
        entry["finished"] = time.time()
        log = state.setdefault("log", [])
        log.append(entry)
        del log[:-LOG_MAX]  # keep a long-running dev state file bounded
