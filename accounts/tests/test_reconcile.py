"""manage.py reconcile against the emulator: what YunoHost lists and the service does not, and
the other way round."""

from __future__ import annotations

import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from blahaj.testing import ROOT
from provisioning.tests.conftest import emulator  # noqa: F401 - fixture
from websites.models import Website


def yunohost(emulator, *argv: str) -> None:  # noqa: F811
    subprocess.run(
        [str(ROOT / "provisioning" / "bin" / "yunohost"), *argv],
        env={"YUNOHOST_EMULATOR_STATE": str(emulator.path), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )


def reconcile(*args: str) -> str:
    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


def test_the_report_names_what_each_side_lacks(emulator, make_user):  # noqa: F811
    make_user("alice", on_yunohost=True)
    bob = make_user("bob", on_yunohost=True)  # the service thinks YunoHost has bob: it does not
    yunohost(
        emulator, "user", "create", "alice", "--fullname", "Alice", "--domain", "blahaj.land", "-p", "Yunohost-pw-1234!"
    )
    yunohost(
        emulator, "user", "create", "zed", "--fullname", "Zed", "--domain", "blahaj.land", "-p", "Yunohost-pw-1234!"
    )
    yunohost(emulator, "domain", "add", "stray.example.org")
    Website.objects.create(owner=bob, domain="bob.blahaj.land", status="live", app_id="my_webapp__2")

    report = reconcile()

    assert "Missing on YunoHost, users (1): bob" in report
    assert "Unknown to the service, users (1): zed" in report
    assert "Missing on YunoHost, domains (1): bob.blahaj.land" in report
    assert "Unknown to the service, domains (1): stray.example.org" in report
    assert "Missing on YunoHost, apps (1): my_webapp__2" in report
    assert "5 difference(s)." in report
    assert User.objects.get(username="bob").on_yunohost  # a report changes nothing


def test_in_agreement_and_the_server_is_the_configured_one(emulator, settings, db):  # noqa: F811
    assert "In agreement." in reconcile("--server", "main")
    settings.YUNOHOST_SERVER_NAME = "ynh1"
    assert "In agreement." in reconcile("--server", "ynh1")
    with pytest.raises(CommandError, match="no YunoHost server named 'main'"):
        reconcile("--server", "main")


def test_fix_refuses_without_the_ownership_record(emulator, db):  # noqa: F811
    with pytest.raises(CommandError, match="--fix is not available yet"):
        reconcile("--fix")


def test_an_unreachable_yunohost_is_a_clear_error(emulator, settings, tmp_path, db):  # noqa: F811
    settings.YUNOHOST_BIN = str(tmp_path / "missing")
    with pytest.raises(CommandError, match="could not be asked"):
        reconcile()
