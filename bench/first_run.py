"""The README's first run, timed on the embedded defaults. Not a test.

Run:  .venv/bin/python bench/first_run.py [--port 8765]
Needs nothing but the virtual environment: like `scripts/dev` it runs the service on SQLite, with
in-process tasks, the bundled YunoHost emulator (no delay) and emails printed on the server's
console, all in a temporary folder (never the developer's data/). It serves with `runserver`,
plays the try-it list and the website section as a newcomer would (the links are read from the
emails on the console) and prints how long each step took, most of all:

- confirm click -> live: from opening the website's `/confirm_site?token=...` link to the site
  being `live`, and to its certificate being `ok` ("not within 120 s" if it never is);
- the account's confirmation link -> can log in, and each website action (a new SFTP password,
  reset: its password email printed; delete: the site gone) -> done.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-staple-42"
DEADLINE = 120.0


def embedded_env(folder: Path, port: int) -> dict[str, str]:
    """scripts/dev's environment, in `folder`: nothing of Redis, PostgreSQL or a real YunoHost."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "CELERY_BROKER_URL"}}
    env.pop("BLAHAJ_TESTING", None)
    env.update(
        DJANGO_SETTINGS_MODULE="blahaj.settings",
        DJANGO_DEBUG="true",
        BLAHAJ_DATA_DIR=str(folder),
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        YUNOHOST_EMULATOR_STATE=str(folder / "yunohost-emulator.json"),
        YUNOHOST_EMULATOR_DELAY="0",
        SITE_URL=f"http://localhost:{port}",
        PYTHONUNBUFFERED="1",
    )
    return env


class Client:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.session = requests.Session()

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        # No redirect followed: the 302 itself is the answer the person waits for.
        response = self.session.request(
            method, self.base + path, json=body, headers=headers, allow_redirects=False, timeout=DEADLINE
        )
        try:
            return response.status_code, response.json() if response.content else None
        except ValueError:
            return response.status_code, response.text


def wait_for(what: str, check: Any, deadline: float = DEADLINE) -> float:
    """Seconds until `check()` holds, polled every 50 ms."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def link(log: Path, pattern: str, seen: int) -> tuple[str, int]:
    """The first link matching `pattern` printed after the first `seen` characters of the log."""

    def found() -> re.Match[str] | None:
        return re.search(pattern, log.read_text(errors="replace")[seen:])

    wait_for(f"an email with {pattern}", lambda: found() is not None, 30)
    match = found()
    assert match is not None
    return match.group(0), seen + match.end()


def run(port: int, keep_log: Path | None = None) -> dict[str, float]:
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-first-run-") as tmp:
        folder = Path(tmp)
        env = embedded_env(folder, port)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True)
        log = folder / "server.log"
        with log.open("w") as out:
            server = subprocess.Popen(
                [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env, cwd=ROOT, stdout=out, stderr=out
            )
            try:
                times = play(Client(port), log)
            except BaseException:
                lines = log.read_text(errors="replace").splitlines()
                print("\n".join(line for line in lines if "GET /api/websites/ " not in line)[-8000:], file=sys.stderr)
                raise
            finally:
                server.terminate()
                server.wait(10)
                if keep_log is not None:
                    keep_log.write_text(log.read_text(errors="replace"))
        busy = log.read_text(errors="replace").count("Lane busy")
        times["'Lane busy' lines in the log"] = busy
    return times


def play(api: Client, log: Path) -> dict[str, float]:
    times: dict[str, float] = {}
    wait_for("the server", lambda: _up(api), 60)
    seen = 0

    status, body = api.call(
        "POST",
        "/api/user/register",
        {"username": "newcomer", "display_name": "New Comer", "email": "newcomer@example.org", "password": PASSWORD},
    )
    assert status == 201, (status, body)
    url, seen = link(log, r"http://localhost:\d+/confirm/[^/\s]+/", seen)
    start = time.monotonic()
    status, _ = api.call("GET", re.sub(r"^https?://[^/]+", "", url))
    times["account: confirm link answered (s)"] = time.monotonic() - start
    login: dict[str, Any] = {}

    def logged_in() -> bool:
        code, body = api.call("POST", "/api/user/login", {"username": "newcomer", "password": PASSWORD})
        login.update(body if code == 200 else {})
        return code == 200

    times["account: confirm link -> can log in (s)"] = _later(start, logged_in)
    access = login["access"]

    status, body = api.call("POST", "/create_website", {"domain": "newcomer.blahaj.land"}, access)
    assert status == 200, (status, body)
    url, seen = link(log, r"/confirm_site\?token=[\w.:-]+", seen)
    start = time.monotonic()
    status, _ = api.call("GET", url)
    times["website: confirm link answered (s)"] = time.monotonic() - start
    assert status == 302, status
    site = _site(api, access)
    times["website: confirm click -> live (s)"] = _later(start, lambda: _site(api, access)["status"] == "live")
    times["website: confirm click -> certificate ok (s)"] = _later(
        start, lambda: _site(api, access)["certificate"] == "ok"
    )

    for action in ("sftp-password", "reset"):
        start = time.monotonic()
        before = _sftp_emails(log)
        status, body = api.call("POST", f"/api/websites/{site['id']}/{action}", {}, access)
        assert status in (200, 202), (action, status, body)
        answered = time.monotonic() - start
        wait_for(f"{action} done", lambda b=before: _sftp_emails(log) > b)
        times[f"website: {action} answered (s)"] = answered
        times[f"website: {action} -> done (s)"] = time.monotonic() - start
    start = time.monotonic()
    status, body = api.call("DELETE", f"/api/websites/{site['id']}", None, access)
    assert status == 202, (status, body)
    times["website: delete answered (s)"] = time.monotonic() - start
    times["website: delete -> gone (s)"] = _later(
        start, lambda: api.call("GET", f"/api/websites/{site['id']}", None, access)[0] == 404
    )
    return times


def _later(start: float, check: Any) -> float:
    """Seconds from `start` until `check()` holds; infinite if it did not within DEADLINE."""
    while time.monotonic() - start < DEADLINE:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    return float("inf")


def _sftp_emails(log: Path) -> int:
    """How many SFTP password emails the server printed: each action ends with one."""
    return log.read_text(errors="replace").count("Subject: The SFTP password of")


def _up(api: Client) -> bool:
    try:
        return api.call("GET", "/healthz")[0] == 200
    except requests.RequestException:
        return False


def _site(api: Client, access: str) -> dict[str, Any]:
    status, body = api.call("GET", "/api/websites/", None, access)
    assert status == 200, (status, body)
    rows = body["results"] if isinstance(body, dict) else body
    return rows[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--log", type=Path, help="keep the server's log (emails included) here")
    args = parser.parse_args()
    times = run(args.port, args.log)
    width = max(len(name) for name in times)
    for name, value in times.items():
        shown = f"{value:7.2f}" if value != float("inf") else f"not within {DEADLINE:.0f} s"
        print(f"{name:<{width}}  {shown}")


if __name__ == "__main__":
    main()
