"""Start-up behaviour that depends on the environment, checked in fresh processes."""

from __future__ import annotations

import os
import subprocess
import sys

from testing import ROOT

CODE = "import django; django.setup(); from django.conf import settings; print(settings.{})"


def _run(setting: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BLAHAJ_", "REDIS_", "DATABASE_"))}
    clean.update(DJANGO_SETTINGS_MODULE="blahaj.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", CODE.format(setting)], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_without_debug_a_missing_secret_key_stops_start_up():
    result = _run("DEBUG")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_with_debug_the_dev_key_is_used():
    assert _run("DEBUG", DJANGO_DEBUG="true").stdout.strip() == "True"


def test_booleans_are_true_or_false_and_nothing_else():
    result = _run("DEBUG", DJANGO_DEBUG="yes")

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be 'true' or 'false'" in result.stderr


def test_embedded_defaults_without_redis():
    assert _run("CELERY_TASK_ALWAYS_EAGER", DJANGO_DEBUG="true").stdout.strip() == "True"
    caches = _run("CACHES", DJANGO_DEBUG="true", BLAHAJ_DATA_DIR="/srv/blahaj-data").stdout
    # On disk, shared by every process and kept across restarts (accounts/tests/test_embedded_processes.py).
    assert "FileBasedCache" in caches and "'LOCATION': '/srv/blahaj-data/cache'" in caches
    assert "'ENGINE': 'django.db.backends.sqlite3'" in _run("DATABASES", DJANGO_DEBUG="true").stdout


def test_redis_url_switches_broker_cache_and_tasks():
    env = dict(DJANGO_DEBUG="true", REDIS_URL="redis://127.0.0.1:6379/9")

    assert _run("CELERY_TASK_ALWAYS_EAGER", **env).stdout.strip() == "False"
    assert "RedisCache" in _run("CACHES", **env).stdout
    assert _run("CELERY_BROKER_URL", **env).stdout.strip() == "redis://127.0.0.1:6379/9"


def test_database_url_selects_postgresql():
    result = _run("DATABASES", DJANGO_DEBUG="true", DATABASE_URL="postgres://u:p@db.example:5432/blahaj")

    assert "django.db.backends.postgresql" in result.stdout
    assert "'NAME': 'blahaj'" in result.stdout


def test_production_uses_the_real_yunohost_binary():
    result = _run("YUNOHOST_BIN", DJANGO_SECRET_KEY="x" * 50)

    assert result.stdout.strip() == "yunohost"
