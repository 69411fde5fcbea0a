"""The SFTP door of the emulator's my_webapp sites: what YunoHost's sshd does for them.

``python -m yunohost_standins.sftp --state FILE --host-key KEY --port N`` serves SFTP on
127.0.0.1 (port 0 picks a free one; the first line on stdout says which: ``listening on
127.0.0.1:<port>``). A login is an installed app's id with its SFTP password (checked against the
state file's ``password_sha256``, and only while the app's ``with_sftp`` is on, as the
``sftp.app`` group of a real server), and the session is chrooted to that app's home: the folder
``www/<app>`` beside the state file, whose ``www/`` is the web root.

As on a real server (docs/yunohost.md §6 and §9), the chroot's top folder belongs to root: the
SFTP user can read it and work inside ``www/``, but cannot create, rename or remove anything next
to ``www/``. No shell, no exec, no port forwarding, no symbolic links.

Needs ``asyncssh`` (the emulator's CLI and HTTP doors need nothing but the standard library).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import posixpath
import sys
from pathlib import Path
from typing import Any

import asyncssh

WEB_ROOT = "www"


def homes(state_path: str) -> Path:
    """Where the sites' homes live: ``www/`` beside the state file (``/var/www`` on YunoHost)."""
    return Path(state_path).resolve().parent / "www"


def _apps(state_path: str) -> list[dict[str, Any]]:
    """The apps of the emulator's state file: read without its lock, as the emulator's own
    readers do (its writers replace the file atomically); no file yet, no app."""
    try:
        with open(state_path, encoding="utf-8") as f:
            return list(json.load(f).get("apps", []))
    except FileNotFoundError:
        return []


def _app(state_path: str, username: str) -> dict[str, Any] | None:
    for app in _apps(state_path):
        if app.get("id") == username:
            return app
    return None


def _sha256(secret: str) -> str:
    # How the emulator's state keeps an app's SFTP password (its `password_sha256`).
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class _Server(asyncssh.SSHServer):
    def __init__(self, state_path: str) -> None:
        self.state_path = state_path

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        app = _app(self.state_path, username)
        if app is None:
            return False
        settings = app.get("settings", {})
        stored = str(settings.get("password_sha256", ""))
        return bool(settings.get("with_sftp")) and bool(stored) and hmac.compare_digest(stored, _sha256(password))


class _Chroot(asyncssh.SFTPServer):
    """The app's home as ``/``; writes only below ``/www``."""

    def __init__(self, chan: asyncssh.SSHServerChannel, state_path: str) -> None:
        username = chan.get_extra_info("username")
        home = homes(state_path) / username
        (home / WEB_ROOT).mkdir(parents=True, exist_ok=True)
        self.home = bytes(home.resolve())
        super().__init__(chan, chroot=self.home)

    def _inside_web_root(self, path: bytes) -> bytes:
        local = self.map_path(path)
        relative = posixpath.relpath(local, self.home)
        if not relative.startswith(WEB_ROOT.encode() + b"/"):  # `www` itself, or anything beside it
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        return path

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT | asyncssh.FXF_APPEND | asyncssh.FXF_TRUNC):
            self._inside_web_root(path)
        return super().open(path, pflags, attrs)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        super().mkdir(self._inside_web_root(path), attrs)

    def rmdir(self, path: bytes) -> None:
        super().rmdir(self._inside_web_root(path))

    def remove(self, path: bytes) -> None:
        super().remove(self._inside_web_root(path))

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().rename(self._inside_web_root(oldpath), self._inside_web_root(newpath))

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().posix_rename(self._inside_web_root(oldpath), self._inside_web_root(newpath))

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        super().setstat(self._inside_web_root(path), attrs)

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("Symbolic links are not allowed")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("Links are not allowed")


async def serve(state_path: str, host_key: str, port: int) -> None:
    server = await asyncssh.listen(
        "127.0.0.1",
        port,
        server_host_keys=[host_key],
        server_factory=lambda: _Server(state_path),
        sftp_factory=lambda chan: _Chroot(chan, state_path),
        allow_scp=False,
        process_factory=None,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=False,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await server.wait_closed()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m yunohost_standins.sftp", description=__doc__.split("\n")[0])
    parser.add_argument("--state", default=os.environ.get("YUNOHOST_EMULATOR_STATE"), required=False)
    parser.add_argument("--host-key", required=True, help="the server's private host key (OpenSSH format)")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    if not options.state:
        parser.error("--state (or YUNOHOST_EMULATOR_STATE) is required")
    try:
        asyncio.run(serve(options.state, options.host_key, options.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
