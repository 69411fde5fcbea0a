"""The build sandbox: bubblewrap (`bwrap`), so a repository's build never touches the worker.

A build sees the system's /usr read-only, the clone read-only at /src, one writable folder at
/out and a private /tmp (tmpfs); no network (every namespace unshared, the network's included),
no /etc, no home, no capability, a user namespace it cannot nest, the uid of `nobody`. Around
it: limits on address space, processes and file size (setrlimit, before bwrap starts), a
time limit that kills the whole sandbox (its own session; `--die-with-parent` takes the rest),
and a cap on what it writes to /out, checked while it runs. A worker running as root starts the
sandbox as `nobody` too.

The sandbox is probed once per process: a host where it cannot start (no bwrap, user
namespaces off) refuses every build with a sentence for staff. Nothing is ever built outside.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

NOBODY = 65534
LOG_LINES = 200
_POLL = 0.2


class SandboxUnavailable(Exception):
    """The sandbox cannot start on this host: nothing is built."""


class BuildFailed(Exception):
    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


@dataclass(frozen=True)
class Limits:
    timeout: float
    memory: int
    processes: int
    max_bytes: int

    @classmethod
    def configured(cls) -> Limits:
        return cls(
            timeout=settings.WEBSITES_BUILD_TIMEOUT,
            memory=settings.WEBSITES_BUILD_MEMORY,
            processes=settings.WEBSITES_BUILD_PROCESSES,
            max_bytes=settings.WEBSITES_BUILD_MAX_BYTES,
        )


def _bwrap() -> str | None:
    return shutil.which(settings.WEBSITES_BWRAP)


def _base_argv(bwrap: str) -> list[str]:
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        str(NOBODY),
        "--gid",
        str(NOBODY),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/tmp",  # noqa: S108 - the sandbox's own tmpfs
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{name}"):
            argv += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            argv += ["--ro-bind", f"/{name}", f"/{name}"]
    return [*argv, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # noqa: S108 - a tmpfs


def _as_nobody() -> None:
    """In the child, before bwrap: a root worker gives its privileges up for good."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _limited(limits: Limits) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_bytes, limits.max_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _as_nobody()
        # After the uid change: RLIMIT_NPROC counts the processes of the user that forks.
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return apply


@functools.cache
def unavailable() -> str | None:
    """Why the sandbox cannot start here (a staff-facing sentence), or None; probed once."""
    bwrap = _bwrap()
    if bwrap is None:
        return (
            f"The build sandbox cannot start: bubblewrap ({settings.WEBSITES_BWRAP}) is not installed on the "
            "worker's host. Install it (the bubblewrap package) to build static sites."
        )
    try:
        done = subprocess.run(
            [*_base_argv(bwrap), "--", "/bin/true"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            preexec_fn=_as_nobody,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"The build sandbox cannot start on the worker's host ({type(error).__name__})."
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
        return (
            f"The build sandbox cannot start on the worker's host ({reason}): bubblewrap needs unprivileged "
            "user namespaces (kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)."
        )
    return None


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def tail(text: str, lines: int = LOG_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def run(
    command: list[str],
    *,
    source: Path,
    output: Path,
    binds: dict[str, str],
    env: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> str:
    """Run `command` in the sandbox, the clone at /src (read-only), `output` at /out (the only
    writable folder), each of `binds` (host path: sandbox path) read-only. Returns the log's
    last lines; raises BuildFailed (with them) when it fails, is too slow or writes too much."""
    problem = unavailable()
    if problem:
        raise SandboxUnavailable(problem)
    limits = limits or Limits.configured()
    argv = _base_argv(_bwrap() or settings.WEBSITES_BWRAP)
    for name, value in (env or {}).items():
        argv += ["--setenv", name, value]
    for host, inside in binds.items():
        argv += ["--ro-bind", host, inside]
    argv += ["--ro-bind", str(source), "/src", "--bind", str(output), "/out", "--chdir", "/src", "--", *command]
    if os.geteuid() == 0:
        os.chown(output, NOBODY, NOBODY)
    log_path = output.parent / "build.log"
    with open(log_path, "w+b") as log:
        process = subprocess.Popen(  # an argv list; the sandbox's own session, killed as a whole
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_limited(limits),
        )
        problem = _watch(process, output, limits)
        log.seek(0)
        text = tail(log.read()[-256 * 1024 :].decode("utf-8", "replace"))
    if problem:
        raise BuildFailed(problem, text)
    if process.returncode != 0:
        raise BuildFailed(f"The build failed (exit status {process.returncode}).", text)
    if _size(output) > limits.max_bytes:  # written between the last check and the end
        raise BuildFailed(f"The build wrote more than {limits.max_bytes} bytes.", text)
    return text


def _watch(process: subprocess.Popen[bytes], output: Path, limits: Limits) -> str | None:
    deadline = time.monotonic() + limits.timeout
    while True:
        try:
            process.wait(timeout=_POLL)  # returns as soon as the build ends
            return None
        except subprocess.TimeoutExpired:
            pass
        problem = None
        if time.monotonic() > deadline:
            problem = f"The build took more than {limits.timeout:g} s: it was stopped."
        elif _size(output) > limits.max_bytes:
            problem = f"The build wrote more than {limits.max_bytes} bytes: it was stopped."
        if problem:
            _kill(process)
            return problem


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
