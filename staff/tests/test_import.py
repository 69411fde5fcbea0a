"""`manage.py yunohost_import` against the yunohost emulator, filled with the real client."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from conftest import PASSWORD
from provisioning.locks import lane_lock
from yunohost_client import get_client


@pytest.fixture
def on_yunohost(settings, default_tier):
    settings.YUNOHOST_LOCK_TIMEOUT = 0
    client = get_client()

    def create(username: str, fullname: str) -> None:
        client.user_create(
            username=username, fullname=fullname, password=PASSWORD, domain=settings.YUNOHOST_DOMAIN, mailbox_quota="0"
        )

    return create


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("yunohost_import", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_missing_accounts_are_created_active_and_a_second_run_changes_nothing(on_yunohost, user):
    on_yunohost("alice", "Alice Liddell")  # known here already
    on_yunohost("erin", "Erin Hunt")
    on_yunohost("frank.n", "Frank N")

    first, _ = run()
    second, _ = run()

    assert first == "created 2, already there 1, skipped invalid names 0"
    assert second == "created 0, already there 3, skipped invalid names 0"
    erin = User.objects.get(username="erin")
    assert (erin.display_name, erin.email, erin.status) == ("Erin Hunt", "erin@blahaj.land", User.Status.ACTIVE)
    assert erin.confirmed_at is not None
    assert not erin.has_usable_password()
    assert erin.tier == user.tier  # the default tier
    assert User.objects.get(username="alice").display_name == "Alice"  # left alone


def test_dry_run_changes_nothing(on_yunohost, default_tier):
    on_yunohost("erin", "Erin Hunt")

    summary, _ = run("--dry-run")

    assert summary == "would create 1, already there 0, skipped invalid names 0"
    assert not User.objects.filter(username="erin").exists()


def test_names_this_service_refuses_are_skipped_and_named(on_yunohost, default_tier):
    on_yunohost("support", "Support Desk")  # YunoHost takes it; our reserved list does not
    on_yunohost("a" * 31, "Long Name")

    summary, errors = run()

    assert summary == "created 0, already there 0, skipped invalid names 2"
    assert "Skipped support: This username is reserved." in errors
    assert f"Skipped {'a' * 31}:" in errors
    assert not User.objects.exists()


def test_a_used_email_is_skipped(on_yunohost, make_user):
    make_user("someone", email="erin@blahaj.land")
    on_yunohost("erin", "Erin Hunt")

    summary, errors = run()

    assert summary == "created 0, already there 0, skipped invalid names 1"
    assert "Skipped erin: Email already in use" in errors


def test_it_waits_for_the_lane_and_gives_up_clearly(on_yunohost, settings, default_tier):
    settings.YUNOHOST_LANE_WAIT = 0
    holder = lane_lock()
    assert holder.acquire(wait=1)
    try:
        with pytest.raises(CommandError, match="lane stayed busy"):
            run()
    finally:
        holder.release()
