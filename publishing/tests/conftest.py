"""The publishing test kit: the emulator's SFTP door as a subprocess (sites chrooted to their
homes beside the emulator's state), and a static file server over a site's web root."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncssh
import pytest

from provisioning.tests.conftest import (  # noqa: F401 - fixtures and helpers of the lane's kit
    _listening_url,
    emulator,
    http_emulator,
    run_lane,
    staff_notes,
    tls_cert,
)
from testing import ROOT
from websites.tests.conftest import other_api, owner_api, plus_tier  # noqa: F401 - the websites' kit
from websites.tests.test_git import repository  # noqa: F401 - the https git server
from yunohost_standins import sftp as emulator_sftp


class SftpServer:
    def __init__(self, state: Path, port: int, host_key: str) -> None:
        self.state, self.port, self.host_key = state, port, host_key

    def home(self, app: str) -> Path:
        return emulator_sftp.homes(str(self.state)) / app

    def web_root(self, app: str) -> Path:
        return self.home(app) / "www"


@contextmanager
def sftp_process(state: Path, key_path: Path) -> Iterator[int]:
    argv = [sys.executable, "-m", "yunohost_standins.sftp", "--state", str(state), "--host-key", str(key_path)]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        yield int(_listening_url(process).rsplit(":", 1)[1])
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]


def host_key(folder: Path, name: str = "host_key") -> tuple[Path, str]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = folder / name
    key.write_private_key(str(path))
    return path, key.export_public_key().decode().strip()


@pytest.fixture
def sftp_server(emulator, tmp_path, settings) -> Iterator[SftpServer]:  # noqa: F811
    key_path, public = host_key(tmp_path)
    with sftp_process(emulator.path, key_path) as port:
        settings.WEBSITES_PUBLISH_SFTP_HOST = "127.0.0.1"
        settings.WEBSITES_PUBLISH_SFTP_PORT = port
        yield SftpServer(emulator.path, port, public)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def static_server(root: Path) -> Iterator[str]:
    """A static file server over `root` (as nginx serves a web root) on 127.0.0.1."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - a test's own 127.0.0.1 server
        return answer.read().decode()
