"""Publishing a built folder to a site's web root through the site's own SFTP login.

A sync, not a copy: the files whose content changed since the last publish (the manifest of
sizes and SHA-256 sums kept on the site's row) or that the server lacks or holds at another size
are sent, the files the build no longer has are removed. Everything happens inside `www/` (the
chroot's top folder belongs to root, docs/yunohost.md §9): the changed files are first uploaded
into a staging folder in `www/`, then renamed into place (an atomic rename each,
posix-rename@openssh.com, many in flight at once), then the removed files go. So a slow upload
never shows a half new site; only the renames, milliseconds, are a mixed moment. Files are
created 0644 and folders 0755 (less the server's umask; on YunoHost the web root's ACLs give
nginx's `www-data` read access too). Symbolic links and other special files are never sent.

The server's host key is pinned: WEBSITES_PUBLISH_KNOWN_HOSTS when set, else the key stored on
the site's row (the caller's choice; none only for the very first publish, which learns it).
A different key refuses the publish.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
import secrets
import stat
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

WEB_ROOT = "www"
STAGING_PREFIX = ".blahaj-publish-"
FILE_MODE, DIR_MODE = 0o644, 0o755
# Requests in flight at once: SFTP answers each in turn, so round trips are what costs.
_PARALLEL = 32
_CHUNK = 1024 * 1024

Manifest = dict[str, list[int | str]]


class PublishFailed(Exception):
    pass


class HostKeyChanged(PublishFailed):
    pass


@dataclass
class Target:
    host: str
    port: int
    username: str
    password: str
    host_key: str = ""  # the pinned key, OpenSSH public key format; "" while not learned
    known_hosts: str = ""  # a known_hosts file that wins over the pinned key
    timeout: float = 600


@dataclass
class Result:
    manifest: Manifest
    host_key: str
    sent: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def local_manifest(folder: Path) -> Manifest:
    """{relative path: [size, sha256]} of the regular files below `folder` (no link followed)."""
    manifest: Manifest = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)) and d != ".git")
        for name in sorted(files):
            path = os.path.join(root, name)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                continue
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    digest.update(chunk)
            manifest[os.path.relpath(path, folder).replace(os.sep, "/")] = [info.st_size, digest.hexdigest()]
    return manifest


def publish(target: Target, folder: Path, previous: Manifest) -> Result:
    """Make the site's web root what `folder` holds."""
    try:
        return asyncio.run(asyncio.wait_for(_publish(target, folder, previous), timeout=target.timeout))
    except TimeoutError:
        raise PublishFailed(f"The upload took more than {target.timeout:g} s; it was stopped.") from None


def _known_hosts(target: Target) -> object:
    if target.known_hosts:
        return target.known_hosts
    if target.host_key:
        try:
            return ([asyncssh.import_public_key(target.host_key)], [], [])
        except (asyncssh.KeyImportError, ValueError):
            raise PublishFailed("The pinned SFTP host key cannot be read: staff must set it again.") from None
    return None  # the first publish: the key is learned, and pinned from then on


async def _connect(target: Target) -> asyncssh.SSHClientConnection:
    try:
        return await asyncssh.connect(
            target.host,
            target.port,
            username=target.username,
            password=target.password,
            known_hosts=_known_hosts(target),
            client_keys=None,
            agent_path=None,
            preferred_auth="password",
            config=None,
            connect_timeout=30,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise HostKeyChanged(
            f"The SFTP server {target.host}:{target.port} showed a host key that is not the pinned one: nothing "
            "was published. If the server's key really changed, staff must pin the new one; otherwise someone is "
            "in the way."
        ) from None
    except asyncssh.PermissionDenied:
        raise PublishFailed(f"The SFTP server refused the site's login ({target.username}).") from None
    except (OSError, asyncssh.Error) as error:
        raise PublishFailed(
            f"Cannot reach the SFTP server {target.host}:{target.port} ({type(error).__name__})."
        ) from None


async def _publish(target: Target, folder: Path, previous: Manifest) -> Result:
    local = local_manifest(folder)
    async with await _connect(target) as connection:
        key = connection.get_server_host_key()
        host_key = target.host_key or (key.export_public_key().decode().strip() if key else "")
        try:
            async with connection.start_sftp_client() as client:
                result = await _Sync(client, folder, local, previous, host_key).run()
        except asyncssh.SFTPError as error:
            raise PublishFailed(f"The SFTP server refused a change ({error.reason}).") from None
    return result


class _Sync:
    def __init__(
        self, client: asyncssh.SFTPClient, folder: Path, local: Manifest, previous: Manifest, host_key: str
    ) -> None:
        self.client, self.folder, self.local, self.previous = client, folder, local, previous
        self.host_key = host_key
        self.remote_files: dict[str, int] = {}
        self.remote_dirs: set[str] = set()
        self.staging = f"{WEB_ROOT}/{STAGING_PREFIX}{secrets.token_hex(6)}"

    async def run(self) -> Result:
        await self._scan("")
        for name in [d for d in self.remote_dirs if "/" not in d and d.startswith(STAGING_PREFIX)]:
            await self._remove_tree(name)  # left by a publish that was stopped
        wanted_dirs = {posixpath.dirname(p) for p in self.local} - {""}
        wanted_dirs |= {parent for d in wanted_dirs for parent in _parents(d)}
        send = [
            path
            for path, (size, digest) in self.local.items()
            if self.previous.get(path) != [size, digest] or self.remote_files.get(path) != size
        ]
        await self.client.mkdir(self.staging)
        await _each(self._upload(f"{self.staging}/{i}", path) for i, path in enumerate(send))
        # The switch: the folders the new files need (parents first), then one rename per file.
        for depth in sorted({d.count("/") for d in wanted_dirs}):
            level = [d for d in wanted_dirs if d.count("/") == depth]
            await _each(self._make_dir(d) for d in level)
        for path in send:
            if path in self.remote_dirs:
                await self._remove_tree(path)
        await _each(self.client.posix_rename(f"{self.staging}/{i}", f"{WEB_ROOT}/{p}") for i, p in enumerate(send))
        await self.client.rmdir(self.staging)
        removed = sorted(set(self.remote_files) - set(self.local))
        await _each(self.client.remove(f"{WEB_ROOT}/{path}") for path in removed)
        for directory in sorted(self.remote_dirs - wanted_dirs, key=lambda d: -d.count("/")):
            if not directory.startswith(STAGING_PREFIX) and await self._exists(directory):
                await self._remove_tree(directory)
        return Result(manifest=self.local, host_key=self.host_key, sent=send, removed=removed)

    async def _upload(self, staged: str, path: str) -> None:
        async with self.client.open(staged, "wb", attrs=asyncssh.SFTPAttrs(permissions=FILE_MODE)) as remote:
            with open(self.folder / path, "rb") as local:
                for chunk in iter(lambda: local.read(_CHUNK), b""):
                    await remote.write(chunk)

    async def _make_dir(self, directory: str) -> None:
        if directory in self.remote_files:
            await self.client.remove(f"{WEB_ROOT}/{directory}")
            self.remote_files.pop(directory)
        if directory not in self.remote_dirs:
            await self.client.mkdir(f"{WEB_ROOT}/{directory}", asyncssh.SFTPAttrs(permissions=DIR_MODE))
            self.remote_dirs.add(directory)

    async def _scan(self, relative: str) -> None:
        below = []
        for entry in await self.client.readdir(posixpath.join(WEB_ROOT, relative) if relative else WEB_ROOT):
            name = entry.filename if isinstance(entry.filename, str) else entry.filename.decode()
            if name in (".", ".."):
                continue
            path = f"{relative}/{name}" if relative else name
            if entry.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
                self.remote_dirs.add(path)
                if relative or not name.startswith(STAGING_PREFIX):
                    below.append(path)
            else:
                self.remote_files[path] = entry.attrs.size or 0
        await asyncio.gather(*(self._scan(path) for path in below))

    async def _exists(self, relative: str) -> bool:
        return bool(await self.client.exists(f"{WEB_ROOT}/{relative}"))

    async def _remove_tree(self, relative: str) -> None:
        await self.client.rmtree(f"{WEB_ROOT}/{relative}")
        self.remote_dirs = {d for d in self.remote_dirs if d != relative and not d.startswith(relative + "/")}
        self.remote_files = {p: s for p, s in self.remote_files.items() if not p.startswith(relative + "/")}


async def _each(calls: Iterable[Awaitable[object]]) -> None:
    """Await every call, _PARALLEL at a time at most."""
    semaphore = asyncio.Semaphore(_PARALLEL)

    async def one(call: Awaitable[object]) -> None:
        async with semaphore:
            await call

    await asyncio.gather(*(one(call) for call in calls))


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
