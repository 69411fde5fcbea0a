"""The embedded defaults (no Redis: what `scripts/dev` runs) across processes and restarts, each
process a fresh `manage.py shell` on one SQLite database and one data folder: a revoked token
stays revoked after a restart, and site settings saved by another process, any way, reach a
running one within seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import PASSWORD
from testing import ROOT

SETUP = f"""
import json
from django.test import Client
from accounts.models import User

User.objects.create_user("alice", "alice@example.org", {PASSWORD!r}, status=User.Status.ACTIVE, display_name="Alice")
client = Client(HTTP_HOST="localhost")


def login():
    body = {{"username": "alice", "password": {PASSWORD!r}}}
    return client.post("/api/user/login", body, content_type="application/json").json()


def me(access):
    return client.get("/api/user/me", HTTP_AUTHORIZATION="Bearer " + access).status_code


revoked, ended, kept = login(), login(), login()
assert me(revoked["access"]) == me(ended["access"]) == 200
assert client.delete("/api/user/revoke-access", HTTP_AUTHORIZATION="Bearer " + revoked["access"]).status_code == 200
assert client.delete("/api/user/revoke-refresh", HTTP_AUTHORIZATION="Bearer " + ended["refresh"]).status_code == 200
assert me(revoked["access"]) == me(ended["access"]) == 401
print(json.dumps({{"revoked": revoked["access"], "ended": ended["access"], "kept": kept["access"]}}))
"""

AFTER_RESTART = """
import json, sys
from django.test import Client

client = Client(HTTP_HOST="localhost")
tokens = json.loads(sys.stdin.read())
print(json.dumps({name: client.get("/api/user/me", HTTP_AUTHORIZATION="Bearer " + access).status_code
                  for name, access in tokens.items()}))
"""

WATCH = """
import sys, time
from blahaj import site

print(site.current().service_name, flush=True)
sys.stdin.readline()  # the other process has saved
started = time.monotonic()
while site.current().service_name == "blahaj.land" and time.monotonic() - started < 30:
    time.sleep(0.1)
print(site.current().service_name, round(time.monotonic() - started, 2), flush=True)
"""

# Outside the admin and its service: a plain save from a shell (nothing clears any cache).
SAVE = """
from blahaj.models import SiteSettings

row = SiteSettings.objects.filter(pk=SiteSettings.SINGLETON).first() or SiteSettings(pk=SiteSettings.SINGLETON)
row.service_name = "Shark Club"
row.save()
"""


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> dict[str, str]:
    """scripts/dev's environment on a folder of its own, migrated once."""
    folder = tmp_path_factory.mktemp("embedded")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BLAHAJ_", "REDIS_", "DATABASE_"))}
    env = {
        **keep,
        "DJANGO_SETTINGS_MODULE": "blahaj.settings",
        "DJANGO_DEBUG": "true",
        "BLAHAJ_DATA_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    return env


def _shell(env: dict[str, str], code: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_revoked_tokens_stay_revoked_after_a_restart(embedded):
    tokens = _shell(embedded, SETUP)

    after = json.loads(_shell(embedded, AFTER_RESTART, stdin=tokens))

    assert after == {"revoked": 401, "ended": 401, "kept": 200}


def test_site_settings_saved_by_another_process_reach_a_running_one_within_seconds(embedded):
    with subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", WATCH],
        cwd=ROOT,
        env=embedded,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as watcher:
        assert watcher.stdout is not None and watcher.stdin is not None
        try:
            assert watcher.stdout.readline().strip() == "blahaj.land"  # read, and cached
            _shell(embedded, SAVE)
            saved = time.monotonic()
            watcher.stdin.write("saved\n")
            watcher.stdin.flush()
            name, waited = watcher.stdout.readline().rsplit(" ", 1)
        finally:
            watcher.kill()
            watcher.communicate()

    assert name == "Shark Club"
    assert float(waited) <= 10 and time.monotonic() - saved < 15
