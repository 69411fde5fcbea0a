"""A repository's clone, in a temporary folder of the worker: https only, from the allowed hosts,
shallow, limited in time and size while it runs.

git runs with an argv list (the URL after `--`), no prompt, no system or global config, no
hooks, no other protocol (file:// and ext:: included, also through submodules or redirects),
no submodules, no LFS, and no symlink checked out (one is a plain file holding its target).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
from pathlib import Path

from django.conf import settings

from websites import rules

_POLL = 0.1
# Options a repository cannot change: they come before `clone` on the command line.
_CONFIG = {
    "protocol.allow": "never",
    "protocol.https.allow": "always",
    "protocol.file.allow": "never",
    "protocol.ext.allow": "never",
    "http.followRedirects": "false",
    "core.symlinks": "false",
    "core.hooksPath": "/dev/null",
    "core.fsmonitor": "false",
    "submodule.recurse": "false",
    "filter.lfs.smudge": "",
    "filter.lfs.process": "",
    "filter.lfs.required": "false",
    "credential.helper": "",
}
# What the worker's environment may pass on: a private CA bundle, a proxy.
_PASSED = ("GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY")


class CloneFailed(Exception):
    pass


def _argv(*args: str) -> list[str]:
    argv = ["git"]
    for name, value in _CONFIG.items():
        argv += ["-c", f"{name}={value}"]
    return [*argv, *args]


def _env(home: Path) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSED if name in os.environ}
    return {
        **env,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_ALLOW_PROTOCOL": "https",
    }


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def remote_head(url: str, home: Path) -> str | None:
    """The commit the repository's default branch points at (`git ls-remote`, the clone's
    safeguards and time limit), or None when it cannot be told."""
    try:
        url = rules.git_url_check(url)
    except rules.GitUrlInvalid:
        return None
    try:
        done = subprocess.run(  # an argv list, the URL after "--"
            _argv("ls-remote", "--", url, "HEAD"),
            env=_env(home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=settings.WEBSITES_GIT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    words = done.stdout.split()
    return words[0][:64] if done.returncode == 0 and words else None


def clone(url: str, target: Path) -> str:
    """Clone `url`'s default branch into `target` (which must not exist); returns the commit.
    Raises CloneFailed with a sentence for the owner; `target` is then left for the caller to
    remove."""
    try:
        url = rules.git_url_check(url)
    except rules.GitUrlInvalid as error:
        raise CloneFailed(str(error)) from None
    timeout, max_bytes = settings.WEBSITES_GIT_TIMEOUT, settings.WEBSITES_GIT_MAX_BYTES
    env = _env(target.parent)
    argv = _argv("clone", "--depth", "1", "--single-branch", "--no-tags", "--no-recurse-submodules", "--quiet")
    argv += ["--", url, str(target)]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    errors = target.parent / "clone.err"
    with open(errors, "w+b") as stderr:
        process = subprocess.Popen(  # an argv list, the URL after "--"
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
            preexec_fn=limit,
        )
        deadline = time.monotonic() + timeout
        problem = None
        while True:
            try:
                process.wait(timeout=_POLL)  # returns as soon as git ends
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > deadline:
                problem = f"git clone took more than {timeout} s: it was stopped."
            elif _size(target) > max_bytes:
                problem = f"The repository is over the {max_bytes} bytes allowed: the clone was stopped."
            if problem:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise CloneFailed(problem)
        stderr.seek(0)
        message = stderr.read()[-4096:].decode("utf-8", "replace").strip()
    if process.returncode == -signal.SIGXFSZ:
        raise CloneFailed(f"The repository holds a file over the {max_bytes} bytes allowed: the clone was stopped.")
    if process.returncode != 0:
        reason = (message.splitlines() or ["no message"])[-1][:300]
        raise CloneFailed(f"git clone failed ({reason}).")
    size = _size(target)
    if size > max_bytes:
        raise CloneFailed(f"The repository is {size} bytes, over the {max_bytes} bytes allowed.")
    done = subprocess.run(
        _argv("-C", str(target), "rev-parse", "HEAD"), env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return done.stdout.strip()[:64]
