"""The production files in deploy/ and scripts/deploy-check."""

from __future__ import annotations

import configparser
import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

from testing import ROOT

DEPLOY = ROOT / "deploy"
UNITS = ["blahaj-web", "blahaj-worker", "blahaj-worker-yunohost", "blahaj-beat"]


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / f"{name}.service")
    return parser


def test_gunicorn_listens_locally_and_logs_no_query_strings(monkeypatch) -> None:
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["bind"] == "127.0.0.1:8000"
    assert 3 <= config["workers"] <= 8 and config["timeout"] == 30
    # %(r)s is the request line and %(q)s the query string; %(f)s, the referer, may hold one too.
    assert "%(U)s" in config["access_log_format"]
    assert not any(atom in config["access_log_format"] for atom in ("%(r)s", "%(q)s", "%(f)s", "%({"))


def test_units_share_the_environment_file_and_the_service_account() -> None:
    for name in UNITS:
        service = _unit(name)["Service"]
        assert (service["User"], service["EnvironmentFile"]) == ("blahaj", "/etc/blahaj/blahaj.env"), name
    assert "-Q yunohost -c 1 " in _unit("blahaj-worker-yunohost")["Service"]["ExecStart"]
    assert "-Q default " in _unit("blahaj-worker")["Service"]["ExecStart"]
    assert " beat " in _unit("blahaj-beat")["Service"]["ExecStart"]
    assert "gunicorn -c deploy/gunicorn.conf.py blahaj.wsgi" in _unit("blahaj-web")["Service"]["ExecStart"]


def test_each_further_server_has_a_templated_lane_unit_reading_its_own_queue() -> None:
    lane = _unit("blahaj-lane@")["Service"]
    assert (lane["User"], lane["EnvironmentFile"]) == ("blahaj", "/etc/blahaj/blahaj.env")
    assert " -Q yunohost.%i -c 1 " in lane["ExecStart"] and " -n lane-%i@%%H " in lane["ExecStart"]
    assert lane["NoNewPrivileges"] == "yes"  # another server is reached over HTTP or ssh: no sudo here


def test_only_the_lane_worker_may_gain_privileges() -> None:
    # sudo is setuid: under NoNewPrivileges it could never become root for /usr/bin/yunohost.
    for name in UNITS:
        expected = "no" if name == "blahaj-worker-yunohost" else "yes"
        assert _unit(name)["Service"]["NoNewPrivileges"] == expected, name
    drop_in = (DEPLOY / "systemd" / "blahaj-worker-yunohost.service.d" / "api-backend.conf").read_text()
    assert "NoNewPrivileges=yes" in drop_in
    sudoers = (DEPLOY / "sudoers.d" / "blahaj").read_text().splitlines()
    assert [line for line in sudoers if line and not line.startswith("#")] == [
        "blahaj ALL=(root) NOPASSWD: /usr/bin/yunohost",
        # The lane's English locale reaches yunohost (docs/yunohost.md §10.2); nothing else is kept.
        'Defaults!/usr/bin/yunohost env_keep += "LC_ALL LANG LANGUAGE"',
    ]


def test_nginx_forwards_what_the_trusted_proxy_setting_expects() -> None:
    conf = (DEPLOY / "nginx" / "blahaj.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "client_max_body_size 64k;" in conf and "proxy_pass http://127.0.0.1:8000;" in conf
    assert '"$request_method $uri $server_protocol"' in conf and "$request " not in conf


def _env_file(tmp_path: Path) -> Path:
    path = tmp_path / "blahaj.env"
    path.write_text(
        "# production, as systemd reads it\n"
        f'DJANGO_SECRET_KEY="{secrets.token_urlsafe(50)}"\n'
        "DJANGO_DEBUG=false\n"
        f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
        "SITE_URL=https://accounts.blahaj.land\n"
        "DJANGO_ALLOWED_HOSTS=accounts.blahaj.land\n"
        "YUNOHOST_BIN=sudo -n /usr/bin/yunohost\n"
    )
    return path


def _deploy_check(env_file: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BLAHAJ_TESTING")}
    return subprocess.run(
        [str(ROOT / "scripts" / "deploy-check"), str(env_file)],
        cwd=ROOT,
        env={**env, "PYTHON": sys.executable, **extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_runs_both_checks_with_the_env_file(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path)
    missing = _deploy_check(env_file, DEPLOY_CHECK_FAIL_LEVEL="ERROR")
    assert missing.returncode == 1
    assert "==> manage.py check --deploy" in missing.stdout and "the database lacks migrations" in missing.stderr
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        check=True,
        timeout=300,
    )
    done = _deploy_check(env_file, DEPLOY_CHECK_FAIL_LEVEL="ERROR")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "deploy-check: OK"), done.stderr
    env_file.write_text(env_file.read_text().replace("DJANGO_DEBUG=false", "DJANGO_DEBUG=true"))
    debug = _deploy_check(env_file)
    assert debug.returncode == 1 and "DJANGO_DEBUG must be false in production" in debug.stderr


def test_deploy_check_refuses_portal_checks_on_yunohost_11_and_reminds_of_fail2ban(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path)
    env_file.write_text(env_file.read_text() + "YUNOHOST_PASSWORD_CHECK=portal\nYUNOHOST_VERSION=11\n")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        check=True,
        timeout=300,
    )
    refused = _deploy_check(env_file, DEPLOY_CHECK_FAIL_LEVEL="ERROR")
    assert refused.returncode == 1
    assert "(provisioning.E001) YUNOHOST_PASSWORD_CHECK=portal needs YunoHost 12" in refused.stderr

    env_file.write_text(env_file.read_text().replace("YUNOHOST_VERSION=11", "YUNOHOST_VERSION=12"))
    done = _deploy_check(env_file, DEPLOY_CHECK_FAIL_LEVEL="ERROR")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "deploy-check: OK"), done.stderr
    assert "[yunohost-portal]" in done.stdout and "ignoreip = 127.0.0.1/8 ::1" in done.stdout
