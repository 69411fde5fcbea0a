"""moulinette's global lock (MoulinetteLock): one locking command at a time on the server.

The holder's PID is written in the lock file, created when taken and removed when released,
polled every 0.5 s. A lock whose PID is dead is taken over; a descendant of the holder passes
through. ``<lock>.guard`` is an flock file that makes check-and-take atomic between processes.
"""

from __future__ import annotations

import os
import time

from .errors import EmulatorError, t
from .state import flock, state_path

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .output import Console


def lock_path() -> str:
    return os.environ.get("YUNOHOST_EMULATOR_LOCK") or state_path() + ".lock"


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    # moulinette checks /proc/<pid>/exe; a zombie (killed, not yet reaped) counts as dead too.
    stat = _proc_stat(pid)
    if stat is not None:
        return stat[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_son_of(pids: list[int]) -> bool:
    # App scripts call `yunohost` while their install holds the lock: moulinette lets a
    # descendant of the lock holder through.
    pid = os.getppid()
    for _ in range(64):
        if pid <= 1:
            return False
        if pid in pids:
            return True
        stat = _proc_stat(pid)
        if stat is None:
            return False
        pid = stat[1]
    return False


def _read_pids(path: str) -> list[int]:
    try:
        with open(path, encoding="utf-8") as f:
            return [int(x) for x in f.read().split() if x.strip().isdigit()]
    except FileNotFoundError:
        return []


def _try_lock(path: str) -> str:
    """One attempt: "acquired", "passthrough" or "busy"."""
    # The guard serialises check-and-create, so two waiters never both take over a stale lock.
    with flock(path + ".guard"):
        pids = _read_pids(path)
        if pids and _is_son_of(pids):
            return "passthrough"
        if pids and _pid_alive(pids[0]) and pids[0] != os.getpid():
            return "busy"
        if os.path.lexists(path):
            os.unlink(path)  # stale (dead PID) or empty: take it over
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return "acquired"


def acquire_lock(path: str, timeout: int | None, console: Console) -> bool:
    """Wait for the lock like MoulinetteLock.acquire; True if this process must release it."""
    start = time.monotonic()
    threshold = float(os.environ.get("YUNOHOST_EMULATOR_LOCK_WARN_AFTER") or 15)
    warned = False
    console.debug("acquiring lock...")
    while True:
        try:
            status = _try_lock(path)
        except OSError:
            raise EmulatorError(t("root_required")) from None
        if status != "busy":
            break
        elapsed = time.monotonic() - start
        if timeout is not None and elapsed > timeout:
            raise EmulatorError(t("instance_already_running"))
        if elapsed > threshold:
            again = "_again" if warned else ""
            console.warning(t("warn_the_user_about_waiting_lock" + again))
            threshold *= 4
            warned = True
        time.sleep(0.5)
    if warned:
        console.warning(t("warn_the_user_that_lock_is_acquired"))
    console.debug("lock has been acquired")
    return status == "acquired"


def release_lock(path: str) -> None:
    with flock(path + ".guard"):
        if _read_pids(path)[:1] == [os.getpid()]:
            os.unlink(path)
