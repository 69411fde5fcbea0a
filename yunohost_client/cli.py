"""The CLI backend: runs the `yunohost` executable as an argv list, never through a shell."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from .base import (
    ENGLISH,
    Call,
    Result,
    YunohostClient,
    YunohostError,
    YunohostPermanent,
    YunohostTransient,
    YunohostUnknownOutcome,
    classify,
    message_from_stderr,
    redact,
)

# One logger for the whole client, under the name it has always had (log filters and alerts use it).
logger = logging.getLogger("provisioning.yunohost")

# --- CLI backend --------------------------------------------------------------------------------


def _command_name(args: Sequence[str]) -> str:
    words = []
    for arg in args[:3]:
        if arg.startswith("-") or not re.fullmatch(r"[a-z-]+", arg):
            break
        words.append(arg)
    # Categories have actions, and `domain cert` / `app config` one more level.
    depth = 3 if words[:2] in (["domain", "cert"], ["app", "config"], ["user", "group"], ["user", "permission"]) else 2
    return " ".join(words[:depth])


def _last_json(stdout: str) -> Any:
    # The result is the last line: comments and INFO/SUCCESS lines come before it (§2.3).
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return json.loads(lines[-1])
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    # moulinette takes over a lock whose PID has no /proc/<pid>/exe; a zombie is dead too.
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


class CliBackend(YunohostClient):
    """Runs ``bin`` (the ``yunohost`` CLI or the emulator) as a subprocess.

    ``bin`` is one executable path, or an argv prefix such as ``["sudo", "-n", "/usr/bin/yunohost"]``
    (the CLI must run as root). ``env`` adds to the inherited environment.
    """

    def __init__(
        self,
        bin: str | Sequence[str],
        *,
        timeout: float = 300,
        lock_timeout: int | None = 5,
        env: dict[str, str] | None = None,
        version: str = "12",
        lock_file: str = "",
    ) -> None:
        self.bin = bin
        self.version = version
        self.lock_file = lock_file
        self._prefix = [bin] if isinstance(bin, str) else list(bin)
        self.timeout = timeout
        self.lock_timeout = lock_timeout
        # English messages whatever the host's or the caller's locale: classification reads them.
        # moulinette's get_locale() reads LC_ALL first, then LC_CTYPE, LANG and LANGUAGE
        # (docs/yunohost.md §10.2), so LC_ALL decides; sudo keeps these variables (env_check).
        self.env = {**os.environ, **(env or {}), **ENGLISH}

    def __repr__(self) -> str:
        return f"CliBackend(bin={self.bin!r}, timeout={self.timeout!r}, lock_timeout={self.lock_timeout!r})"

    def execute(self, call: Call) -> Any:
        return self.run(call.cli, secrets=call.secrets).data

    def run(self, args: list[str], *, secrets: Sequence[str] = ()) -> Result:
        """Run ``yunohost ARGS --output-as json [--timeout N]``; raise a YunohostError on failure."""
        command = _command_name(args)
        argv = [*self._prefix, *args, "--output-as", "json"]
        if self.lock_timeout is not None:
            argv += ["--timeout", str(self.lock_timeout)]
        if any("\x00" in arg for arg in argv):
            raise YunohostPermanent(
                "NUL characters are not accepted in arguments", command=command, argv=argv, secrets=secrets
            )
        proc = self._spawn(command, argv, secrets)
        if proc.returncode != 0:
            raise self._failure(command, argv, proc, secrets)
        stdout, stderr = redact(proc.stdout, secrets), redact(proc.stderr, secrets)
        return Result(data=_last_json(stdout), stdout=stdout, stderr=stderr)

    def _spawn(self, command: str, argv: list[str], secrets: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Run the command to its end. Past ``timeout`` it is left running, never killed: killing
        sudo would leave yunohost orphaned mid-operation (an install half made, its lock held),
        so a timeout of ours is an unknown outcome, not a failure."""
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=self.env,
            )
        except OSError as e:
            message = f"could not run {self.bin}: {e.strerror or e}"
            raise YunohostTransient(message, command=command, argv=argv, secrets=secrets) from None
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            # Its pipes drained and its exit reaped in the background, so it can finish.
            threading.Thread(target=process.communicate, name=f"yunohost {command}", daemon=True).start()
            message = (
                f"yunohost {command} did not finish within {self.timeout:g} s; it was left running "
                "and its outcome is unknown"
            )
            logger.warning("yunohost %s: no answer after %.2f s, left running", command, time.monotonic() - started)
            raise YunohostUnknownOutcome(message, command=command, argv=argv, secrets=secrets) from None
        logger.info("yunohost %s: exit %s after %.2f s", command, process.returncode, time.monotonic() - started)
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)

    def lock_free(self) -> bool | None:
        """Whether YunoHost's global lock is free (docs/yunohost.md §3: the holder's PID in the
        lock file, which exists only while held): None if the file cannot be read from here."""
        if not self.lock_file:
            return None
        try:
            with open(self.lock_file, encoding="utf-8") as f:
                pids = [int(word) for word in f.read().split() if word.isdigit()]
        except FileNotFoundError:
            return True
        except OSError:
            return None
        return not pids or not _alive(pids[0])

    def _failure(
        self, command: str, argv: list[str], proc: subprocess.CompletedProcess[str], secrets: Sequence[str]
    ) -> YunohostError:
        message = (
            message_from_stderr(proc.stderr, version=self.version)
            or f"yunohost {command} failed with exit code {proc.returncode}"
        )
        cls = classify(message, exit_code=proc.returncode)
        return cls(
            message,
            command=command,
            exit_code=proc.returncode,
            argv=argv,
            stdout=proc.stdout,
            stderr=proc.stderr,
            secrets=secrets,
        )
