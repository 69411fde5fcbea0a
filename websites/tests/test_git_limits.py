"""A git site's clone is bounded while it runs (provisioning/gitsync.py): git is stopped as soon
as what it downloaded passes WEBSITES_GIT_MAX_BYTES, or when WEBSITES_GIT_TIMEOUT is over, and
the helpers it started stop with it. The repository is served over https on 127.0.0.1 by
`git http-backend` (test_git.py's server), here sending at a metered pace and counting what the
client took, or never answering."""

from __future__ import annotations

import http.server
import os
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning import gitsync
from provisioning.yunohost import YunohostPermanent, YunohostTransient
from websites.tests.test_git import Repository, _certificate, _SmartHttp

LIMIT = 1024 * 1024
CHUNK = 64 * 1024


class Meter:
    """What a server offered and what the client took before it went away."""

    def __init__(self) -> None:
        self.offered = 0
        self.sent = 0
        self.aborted = False
        self.stall = threading.Event()  # set: the server never answers (until the test ends)
        self.released = threading.Event()


class _MeteredWriter:
    def __init__(self, inner, meter: Meter) -> None:
        self.inner, self.meter = inner, meter

    @property
    def closed(self) -> bool:
        return self.inner.closed

    def flush(self) -> None:
        if not self.meter.aborted:
            self.inner.flush()

    def write(self, data: bytes) -> int:
        self.meter.offered += len(data)
        for start in range(0, len(data), CHUNK):
            if self.meter.aborted:
                break
            chunk = data[start : start + CHUNK]
            try:
                self.inner.write(chunk)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.meter.aborted = True
                break
            self.meter.sent += len(chunk)
            time.sleep(0.01)  # about 6 MB/s
        return len(data)


class _Metered(_SmartHttp):
    meter: Meter

    def setup(self) -> None:
        super().setup()
        self.wfile = _MeteredWriter(self.wfile, self.meter)  # type: ignore[assignment]  # writes like the socket writer

    def _backend(self) -> None:
        if self.meter.stall.is_set():
            self.meter.released.wait(60)
            return
        super()._backend()


@pytest.fixture
def served(tmp_path, settings, monkeypatch) -> Iterator[tuple[Repository, Meter]]:
    cert, key = _certificate(tmp_path)
    meter = Meter()
    handler = type("Handler", (_Metered,), {"project_root": str(tmp_path / "served"), "meter": meter})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    monkeypatch.setenv("GIT_SSL_CAINFO", str(cert))
    settings.WEBSITES_GIT_HOSTS = [f"localhost:{port}"]
    settings.WEBSITES_GIT_MAX_BYTES = LIMIT
    try:
        yield Repository(tmp_path, f"https://localhost:{port}/site.git"), meter
    finally:
        meter.released.set()
        server.shutdown()
        server.server_close()
        thread.join()


def _git_processes(url: str) -> list[str]:
    """Processes on this machine whose command line names `url` (git and its helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if url in argv:
                found.append(" ".join(argv))
    return found


def _big_files(count: int) -> dict[str, str]:
    # Random, so that nothing compresses it: what is sent is what the files weigh.
    return {f"blob{n}.txt": os.urandom(LIMIT // 2).hex() for n in range(count)}


def test_a_clone_is_stopped_as_soon_as_it_passes_the_limit(served, settings):
    repository, meter = served
    repository.publish(_big_files(16))  # 16 MiB of text, about 8 MiB once packed
    root = gitsync.webroot("my_webapp")

    started = time.monotonic()
    with pytest.raises(YunohostPermanent) as refused:
        gitsync.sync(app="my_webapp", url=repository.url)
    took = time.monotonic() - started

    assert f"passed the {LIMIT} bytes allowed (the clone was stopped)" in str(refused.value)
    assert meter.offered > 6 * LIMIT
    assert meter.aborted and meter.sent < meter.offered / 2, (meter.sent, meter.offered)
    assert took < 10
    assert not root.exists() and list(root.parent.iterdir()) == []  # nothing left behind
    assert _git_processes(repository.url) == []


def test_a_repository_within_the_limit_is_cloned_whole(served):
    repository, meter = served
    repository.publish({"index.html": "<h1>small</h1>"})

    result = gitsync.sync(app="my_webapp", url=repository.url)

    assert result == {"app": "my_webapp", "bytes": len("<h1>small</h1>")}
    assert (gitsync.webroot("my_webapp") / "index.html").read_text() == "<h1>small</h1>"
    assert not meter.aborted


def test_a_server_that_never_answers_is_given_up_with_its_helpers(served, settings):
    repository, meter = served
    repository.publish({"index.html": "never sent"})
    meter.stall.set()
    settings.WEBSITES_GIT_TIMEOUT = 2

    started = time.monotonic()
    with pytest.raises(YunohostTransient, match="took more than 2 s"):
        gitsync.sync(app="my_webapp", url=repository.url)
    took = time.monotonic() - started

    assert 2 <= took < 4
    assert _git_processes(repository.url) == []  # git-remote-https is gone too
    assert not gitsync.webroot("my_webapp").exists()
