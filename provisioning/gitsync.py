"""A git site's content: its repository cloned into the web root of its my_webapp instance.

YunoHost has no command for this, so the lane runs git itself, on the YunoHost host (the CLI
backend's machine), as one step like any other (`webapp.git_sync`): a shallow clone into a
temporary folder beside the web root, then swapped in. A clone that fails or is too big changes
nothing: the last good content stays online.

Safety: https only (the URL was checked against the allow-list when the site was asked for; it
is checked again here), argv lists with `--` before the URL, no prompt, no other protocol (not
even through submodules or redirects), no symlinks checked out, a time limit and a size limit
held while git runs: the folder is measured every POLL_SECONDS, and git (with the helpers it
started) is killed as soon as what it downloaded (`.git`) or what it checked out passes
WEBSITES_GIT_MAX_BYTES, or WEBSITES_GIT_TIMEOUT is over.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from .yunohost import APP_ID_RE, YunohostPermanent, YunohostTransient

COMMAND = "git sync"
POLL_SECONDS = 0.2


def webroot_base() -> Path:
    """/var/www on YunoHost; beside the emulator's state file when the emulator plays YunoHost."""
    if settings.YUNOHOST_WEBROOT_BASE:
        return Path(settings.YUNOHOST_WEBROOT_BASE)
    if settings.YUNOHOST_BIN.endswith(os.path.join("provisioning", "bin", "yunohost")):
        return Path(settings.YUNOHOST_EMULATOR_STATE).parent / "www"
    return Path("/var/www")


def webroot(app: str) -> Path:
    """my_webapp's web root: /var/www/<instance>/www (docs/yunohost.md §6)."""
    return webroot_base() / app / "www"


def _check(app: str, url: str) -> None:
    parts = urlsplit(url)
    if not APP_ID_RE.fullmatch(app or ""):
        raise YunohostPermanent(f"Invalid app id: {app!r}", command=COMMAND)
    if parts.scheme != "https" or parts.username or parts.password or parts.query or parts.fragment:
        raise YunohostPermanent("Only plain https:// repository URLs are cloned.", command=COMMAND)


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # git renamed or removed it meanwhile
                continue
    return total


def _too_big(clone: Path, limit: int) -> bool:
    """The download (`.git`, where git writes the pack as it arrives) or the checkout is over."""
    downloaded = _size(clone / ".git")
    return downloaded > limit or _size(clone) - downloaded > limit


def _git_env() -> dict[str, str]:
    return {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_PROTOCOL_FROM_USER": "0",
    }


def sync(*, app: str, url: str) -> dict[str, object]:
    """Clone `url` and make it the web root of `app`; idempotent (a re-run clones again)."""
    _check(app, url)
    target = webroot(app)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".git-sync-", dir=target.parent))
    try:
        clone = work / "www"
        argv = [
            "git",
            "-c",
            "protocol.allow=never",
            "-c",
            "protocol.https.allow=always",
            "-c",
            "core.symlinks=false",
            "-c",
            "http.followRedirects=false",
            "clone",
            "--depth",
            "1",
            "--single-branch",
            "--no-tags",
            "--quiet",
            "--",
            url,
            str(clone),
        ]
        returncode, stderr = _clone(argv, clone, work / "git.stderr")
        if returncode != 0:
            reason = (stderr.strip().splitlines() or ["no message"])[-1][:300]
            raise YunohostTransient(f"git clone failed ({reason}); the last content stays online.", command=COMMAND)
        shutil.rmtree(clone / ".git", ignore_errors=True)
        size = _size(clone)
        if size > settings.WEBSITES_GIT_MAX_BYTES:
            raise _over_limit(size)
        _swap(clone, target, work)
        return {"app": app, "bytes": size}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _over_limit(size: int | None) -> YunohostPermanent:
    limit = settings.WEBSITES_GIT_MAX_BYTES
    what = f"is {size} bytes, over" if size is not None else "passed"
    stopped = "" if size is not None else " (the clone was stopped)"
    return YunohostPermanent(
        f"The repository {what} the {limit} bytes allowed{stopped}; the last content stays online.", command=COMMAND
    )


def _clone(argv: list[str], clone: Path, stderr_path: Path) -> tuple[int, str]:
    """Run git's clone (an argv list, the URL after "--") within the time and size limits:
    (exit code, stderr). git runs in a process group of its own, so that stopping it also stops
    the helpers it started (git-remote-https, index-pack), which would go on downloading."""
    limit, seconds = settings.WEBSITES_GIT_MAX_BYTES, settings.WEBSITES_GIT_TIMEOUT
    deadline = time.monotonic() + seconds
    with open(stderr_path, "w+", encoding="utf-8", errors="replace") as stderr:
        process = subprocess.Popen(
            argv,
            env=_git_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            while process.poll() is None:
                if time.monotonic() > deadline:
                    raise YunohostTransient(
                        f"git clone took more than {seconds} s; the last content stays online.", command=COMMAND
                    )
                if _too_big(clone, limit):
                    raise _over_limit(None)
                time.sleep(POLL_SECONDS)
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        stderr.seek(0)
        return process.returncode, stderr.read()


def _swap(new: Path, target: Path, work: Path) -> None:
    # Two renames on one file system: the site is never half old, half new.
    old = work / "old"
    if target.exists():
        target.rename(old)
    new.rename(target)
