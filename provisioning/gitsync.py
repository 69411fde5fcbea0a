"""A git site's content: its repository cloned into the web root of its my_webapp instance.

YunoHost has no command for this, so the lane runs git itself, on the YunoHost host (the CLI
backend's machine), as one step like any other (`webapp.git_sync`): a shallow clone into a
temporary folder beside the web root, checked for size, then swapped in. A clone that fails or
is too big changes nothing: the last good content stays online.

Safety: https only (the URL was checked against the allow-list when the site was asked for; it
is checked again here), argv lists with `--` before the URL, no prompt, no other protocol (not
even through submodules or redirects), no symlinks checked out, a time limit and a size limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from .yunohost import APP_ID_RE, YunohostPermanent, YunohostTransient

COMMAND = "git sync"


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
            total += os.lstat(os.path.join(root, name)).st_size
    return total


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
        try:
            done = subprocess.run(  # an argv list, the URL after "--"
                argv,
                env=_git_env(),
                capture_output=True,
                text=True,
                timeout=settings.WEBSITES_GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise YunohostTransient(
                f"git clone took more than {settings.WEBSITES_GIT_TIMEOUT} s; the last content stays online.",
                command=COMMAND,
            ) from None
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
            raise YunohostTransient(f"git clone failed ({reason}); the last content stays online.", command=COMMAND)
        shutil.rmtree(clone / ".git", ignore_errors=True)
        size = _size(clone)
        if size > settings.WEBSITES_GIT_MAX_BYTES:
            raise YunohostPermanent(
                f"The repository is {size} bytes, over the {settings.WEBSITES_GIT_MAX_BYTES} bytes allowed; "
                "the last content stays online.",
                command=COMMAND,
            )
        _swap(clone, target, work)
        return {"app": app, "bytes": size}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _swap(new: Path, target: Path, work: Path) -> None:
    # Two renames on one file system: the site is never half old, half new.
    old = work / "old"
    if target.exists():
        target.rename(old)
    new.rename(target)
