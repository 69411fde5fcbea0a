"""`scripts/manage` runs a management command in the environment of `scripts/dev`, from a plain
shell (no DJANGO_DEBUG, no DJANGO_SECRET_KEY, no REDIS_URL), in a fresh process."""

from __future__ import annotations

import os
import subprocess

from testing import ROOT

SHOW = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.SITE_URL, s.CELERY_TASK_ALWAYS_EAGER, s.WEBSITES_PUBLISH_SFTP_HOST, s.YUNOHOST_EMULATOR_STATE)"
)


def _plain_shell(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BLAHAJ_", "REDIS_", "DATABASE_"))}
    env.pop("SITE_URL", None)
    # Its own database and data folder: never the developer's.
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", BLAHAJ_DATA_DIR=str(tmp_path))
    return env


def test_a_command_sees_what_the_development_service_sees(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "manage"), "shell", "-c", SHOW],
        cwd=tmp_path,  # from anywhere
        env=_plain_shell(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    debug, site_url, eager, sftp_host, state = result.stdout.splitlines()[-1].split()
    assert (debug, site_url, eager, sftp_host) == ("True", "http://localhost:8000", "True", "127.0.0.1")
    assert state == str(tmp_path / "yunohost-emulator.json")


def test_a_plain_manage_py_stops_where_scripts_manage_runs(tmp_path):
    plain = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "check"],
        cwd=ROOT,
        env=_plain_shell(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    through = subprocess.run(
        [str(ROOT / "scripts" / "manage"), "check"],
        cwd=ROOT,
        env=_plain_shell(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert plain.returncode != 0 and "DJANGO_SECRET_KEY is not set" in plain.stderr
    assert through.returncode == 0, through.stderr
    assert "System check identified no issues" in through.stdout
