"""manage.py reconcile against the emulator: what YunoHost lists and the service does not, and
the other way round; `--fix` queues what brings YunoHost back in line, the lane run in-process."""

from __future__ import annotations

import contextlib
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import yunohost as account_lane
from accounts.models import User
from audit.models import AuditEntry
from conftest import committed
from provisioning.models import Operation, OwnedObject
from provisioning.tests.conftest import emulator, run_lane  # noqa: F401 - fixture and helper
from testing import ROOT
from websites import lane as site_lane
from websites.models import Website

SITE = "alice.blahaj.land"


def yunohost(emulator, *argv: str) -> None:  # noqa: F811
    subprocess.run(
        [str(ROOT / "yunohost_emulator" / "bin" / "yunohost"), *argv],
        env={"YUNOHOST_EMULATOR_STATE": str(emulator.path), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )


def reconcile(*args: str, commit: bool = True) -> str:
    """The command's output; `commit=False`: what it queued is not sent to the lane (it waits)."""
    out = StringIO()
    with committed() if commit else contextlib.nullcontext():
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
    assert "Unknown, not ours, users (1): zed" in report
    assert "Missing on YunoHost, domains (1): bob.blahaj.land" in report
    assert "Unknown, not ours, domains (1): stray.example.org" in report
    assert "Missing on YunoHost, apps (1): my_webapp__2" in report
    assert "5 difference(s)." in report
    assert User.objects.get(username="bob").on_yunohost  # a report changes nothing


def test_in_agreement_and_the_server_is_the_configured_one(emulator, settings, db):  # noqa: F811
    assert "In agreement." in reconcile("--server", "main")
    settings.YUNOHOST_SERVER_NAME = "ynh1"
    assert "In agreement." in reconcile("--server", "ynh1")
    with pytest.raises(CommandError, match="no YunoHost server named 'nowhere'"):
        reconcile("--server", "nowhere")


def test_an_unreachable_yunohost_is_a_clear_error(emulator, settings, tmp_path, db):  # noqa: F811
    settings.YUNOHOST_BIN = str(tmp_path / "missing")
    with pytest.raises(CommandError, match="could not be asked"):
        reconcile()


def test_remove_orphans_goes_with_fix(emulator, db):  # noqa: F811
    with pytest.raises(CommandError, match="--remove-orphans goes with --fix"):
        reconcile("--remove-orphans")


# --- --fix ----------------------------------------------------------------------------------------


@pytest.fixture
def made(emulator, make_user, tasks_inline):  # noqa: F811
    """alice, an active member with her YunoHost user, and her live site, all made by the lane."""
    alice = make_user("alice", on_yunohost=True, status=User.Status.ACTIVE)
    with committed():
        account_lane.account_create(user=alice)
        website = Website.objects.create(owner=alice, domain=SITE, status=Website.Status.PROVISIONING)
        site_lane.website_provision(website=website)
    run_lane()
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE and website.app_id
    assert "alice" in emulator.state()["users"]
    return alice, website


def _apps(emulator) -> dict[str, str]:  # noqa: F811
    return {app["id"]: app["domain"] for app in emulator.state()["apps"]}


def _fixes() -> list[tuple[str, str]]:
    return list(
        AuditEntry.objects.filter(door="command", actor="command:reconcile")
        .order_by("id")
        .values_list("action", "object")
    )


def test_fix_puts_back_a_vanished_user_and_app_through_the_lane(emulator, made, mailoutbox):  # noqa: F811
    alice, website = made
    lost_app = website.app_id
    # A restore: YunoHost no longer has alice's user nor her site's app.
    yunohost(emulator, "user", "delete", "alice")
    yunohost(emulator, "app", "remove", lost_app)
    mailoutbox.clear()

    report = reconcile("--fix")

    assert "Missing on YunoHost, users (1): alice" in report
    assert f"Missing on YunoHost, apps (1): {lost_app}" in report
    assert "Queued: user.create alice (mailed a password reset link)." in report
    assert f"Queued: app.install {SITE} (the site is provisioning again)." in report
    assert "Queued 2 fix(es)." in report
    assert _fixes() == [("user.put_back", "user:alice"), ("website.put_back", f"website:{website.pk}")]
    website.refresh_from_db()
    assert website.status in (Website.Status.PROVISIONING, Website.Status.LIVE)

    run_lane()

    state = emulator.state()
    assert "alice" in state["users"]
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE
    assert _apps(emulator).get(website.app_id) == SITE
    assert OwnedObject.objects.filter(kind="user", name="alice", state="created").count() == 1
    assert OwnedObject.objects.filter(kind="app", name=website.app_id, state="created").exists()
    resets = [m for m in mailoutbox if m.to == [alice.email] and "/password-reset/" in m.body]
    assert len(resets) == 1
    assert "In agreement." in reconcile()

    operations = Operation.objects.count()
    again = reconcile("--fix")
    assert "Nothing to queue." in again
    assert Operation.objects.count() == operations
    assert len(_fixes()) == 2


def test_a_second_fix_queues_nothing_while_the_first_is_pending(emulator, made):  # noqa: F811
    _, website = made
    yunohost(emulator, "user", "delete", "alice")
    yunohost(emulator, "app", "remove", website.app_id)
    yunohost(emulator, "domain", "remove", SITE)
    first = reconcile("--fix", commit=False)
    assert f"Queued: domain.add {SITE} (the site is provisioning again)." in first
    pending = Operation.objects.filter(status__in=Operation.UNFINISHED).count()
    assert pending == 2

    second = reconcile("--fix", commit=False)

    assert "Already queued: the YunoHost user alice." in second
    assert "Nothing to queue." in second
    assert Operation.objects.filter(status__in=Operation.UNFINISHED).count() == pending
    run_lane()
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE
    assert SITE in emulator.state()["domains"] and "alice" in emulator.state()["users"]


def test_what_the_admins_made_by_hand_is_unknown_and_never_touched(emulator, made):  # noqa: F811
    yunohost(
        emulator, "user", "create", "zed", "--fullname", "Zed", "--domain", "blahaj.land", "-p", "Yunohost-pw-1234!"
    )
    yunohost(emulator, "domain", "add", "stray.example.org")
    before = emulator.state()

    report = reconcile("--fix", "--remove-orphans")

    assert "Unknown, not ours, users (1): zed" in report
    assert "Unknown, not ours, domains (1): stray.example.org" in report
    assert "Orphans made by this service" not in report
    assert "Nothing to queue." in report
    run_lane()
    after = emulator.state()
    assert after["users"]["zed"] == before["users"]["zed"]
    assert "stray.example.org" in after["domains"]
    assert not emulator.log("user delete") and not emulator.log("domain remove")
    assert _fixes() == []


def test_an_orphan_made_by_this_service_is_removed_only_with_remove_orphans(emulator, made):  # noqa: F811
    alice, website = made
    app = website.app_id
    # An older dump restored after the account and its site were deleted here: rows gone,
    # YunoHost still has what the service made for them.
    Website.objects.filter(pk=website.pk).delete()
    User.objects.filter(pk=alice.pk).delete()

    report = reconcile("--fix")

    assert "Orphans made by this service, users (1): alice" in report
    assert f"Orphans made by this service, domains (1): {SITE}" in report
    assert f"Orphans made by this service, apps (1): {app} ({SITE}/)" in report
    assert "The orphans are left in place: --remove-orphans removes them." in report
    run_lane()
    assert "alice" in emulator.state()["users"] and app in _apps(emulator)

    removing = reconcile("--fix", "--remove-orphans", commit=False)

    assert "Queued: user.delete alice." in removing
    assert f"Queued: app.remove then domain.remove {SITE}." in removing
    assert "Already queued" in reconcile("--fix", "--remove-orphans", commit=False)  # while pending
    run_lane()
    state = emulator.state()
    assert "alice" not in state["users"] and SITE not in state["domains"] and app not in _apps(emulator)
    assert _fixes() == [("yunohost.orphan.remove", "user:alice"), ("yunohost.orphan.remove", f"domain:{SITE}")]
    assert "In agreement." in reconcile()
