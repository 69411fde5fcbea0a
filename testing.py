"""Helpers for tests that run the real thing in other processes (servers, workers)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database this test runs on, for a child process to share it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "BLAHAJ_TESTING": "true",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
        # No DNS here (a sinkhole answers NXDOMAIN for every domain): the mail-domain check
        # would refuse every sign-up; defences/tests/test_defences_email.py runs its own server.
        "SIGNUP_CHECK_MX": "false",
    }
    env.update(extra)
    return env


@contextmanager
def gunicorn(*, workers: int = 1, env: dict[str, str] | None = None) -> Iterator[str]:
    """A real gunicorn serving the project on 127.0.0.1; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "blahaj.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env or child_env(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with {process.returncode}")
        try:
            requests.get(f"{url}/api/user/me", timeout=5)  # a quick 401 means it's up
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"the server at {url} did not start within {timeout} s")


class FakeDiscord:
    """Answers each POST with the next scripted (status, body, headers); records what came."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict, dict]] = []
        self.received: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                fake.received.append({"path": self.path, "json": json.loads(self.rfile.read(length))})
                status, body, headers = fake.script.pop(0) if fake.script else (204, {}, {})
                payload = json.dumps(body).encode() if body else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/webhooks/123/s3cret-token"


@contextmanager
def running_fake_discord(settings: Any) -> Iterator[FakeDiscord]:
    """A FakeDiscord serving on 127.0.0.1, configured as the webhook (admin role 987654321)."""
    fake = FakeDiscord()
    thread = threading.Thread(target=fake.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    settings.DISCORD_WEBHOOK_URL = fake.url
    settings.DISCORD_ADMIN_ROLE_ID = "987654321"
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
