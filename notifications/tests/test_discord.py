"""Staff notifications against a real HTTP server on 127.0.0.1 standing in for Discord."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import TestCase

import notifications
from notifications import discord
from testing import FakeDiscord, running_fake_discord


@pytest.fixture
def fake_discord(settings) -> Iterator[FakeDiscord]:
    with running_fake_discord(settings) as fake:
        yield fake


def test_the_message_pings_the_admin_role_only(fake_discord):
    discord.post_to_discord.apply(args=("operation_failed", "user.create for @everyone failed"))

    assert fake_discord.received == [
        {
            "path": "/api/webhooks/123/s3cret-token",
            "json": {
                "content": "<@&987654321> [operation_failed] user.create for @everyone failed",
                "allowed_mentions": {"parse": [], "roles": ["987654321"]},
            },
        }
    ]


def test_without_a_role_nobody_is_pinged(fake_discord, settings):
    settings.DISCORD_ADMIN_ROLE_ID = ""
    discord.deliver(event="account_created", message="alice now has a YunoHost account.")

    assert fake_discord.received[0]["json"] == {
        "content": "[account_created] alice now has a YunoHost account.",
        "allowed_mentions": {"parse": [], "roles": []},
    }


def test_a_long_message_is_cut_to_discords_limit(fake_discord):
    discord.deliver(event="operation_failed", message="x" * 5000)

    assert len(fake_discord.received[0]["json"]["content"]) == discord.MAX_CONTENT


def test_a_rate_limit_is_retried_after_discords_retry_after(fake_discord):
    fake_discord.script = [(429, {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}, {})]

    with pytest.raises(discord.RetryLater) as caught:
        discord.deliver(event="e", message="m")

    assert caught.value.after == 1.5


def test_a_rate_limit_without_a_body_uses_the_retry_after_header(fake_discord):
    fake_discord.script = [(429, {}, {"Retry-After": "7"})]

    with pytest.raises(discord.RetryLater) as caught:
        discord.deliver(event="e", message="m")

    assert caught.value.after == 7


def test_server_errors_and_rate_limits_are_retried_until_delivered(fake_discord):
    fake_discord.script = [(503, {}, {}), (429, {"retry_after": 0.01}, {}), (204, {}, {})]

    discord.post_to_discord.apply(args=("operation_failed", "boom"))

    assert len(fake_discord.received) == 3
    assert fake_discord.script == []


def test_retries_are_bounded(fake_discord, caplog):
    fake_discord.script = [(500, {}, {})] * (discord.MAX_RETRIES + 3)

    discord.post_to_discord.apply(args=("operation_failed", "boom"))

    assert len(fake_discord.received) == discord.MAX_RETRIES + 1
    assert "Dropped the operation_failed notification" in caplog.text


def test_a_refused_webhook_is_not_retried(fake_discord, caplog):
    fake_discord.script = [(404, {"message": "Unknown Webhook"}, {})]

    discord.post_to_discord.apply(args=("operation_failed", "boom"))

    assert len(fake_discord.received) == 1
    assert "HTTP 404" in caplog.text


def test_an_unreachable_discord_is_retried_and_the_url_never_logged(fake_discord, settings, caplog):
    fake_discord.server.shutdown()
    fake_discord.server.server_close()

    with pytest.raises(discord.RetryLater):
        discord.deliver(event="e", message="m")
    discord.post_to_discord.apply(args=("e", "m"))

    assert "s3cret-token" not in caplog.text


def test_without_a_webhook_nothing_is_queued(settings, django_capture_on_commit_callbacks):
    settings.DISCORD_WEBHOOK_URL = ""

    with django_capture_on_commit_callbacks() as callbacks:
        discord.notify_staff(event="operation_failed", message="boom")

    assert callbacks == []


@pytest.mark.django_db
def test_with_a_webhook_the_post_is_queued_after_commit(fake_discord, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        discord.notify_staff(event="operation_failed", message="boom")

    assert len(callbacks) == 1


# --- the events (notifications/events.py) --------------------------------------------------


@contextmanager
def tasks_context() -> Iterator[None]:
    """Run what a notification queues, in this process: its task, after the 'commit'."""
    from blahaj.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            yield
    finally:
        app.conf.task_always_eager = before


def _contents(fake) -> list[str]:
    return [entry["json"]["content"] for entry in fake.received]


@pytest.mark.django_db
def test_every_event_has_its_message(fake_discord):
    with tasks_context():
        notifications.signup_waiting(username="dana", display_name="Dana Scully")
        notifications.account_created(username="dana", mail_address="dana@blahaj.land")
        notifications.provisioning_failed(username="dana", operation_id=7, attempts=3, error="LDAP down")
        notifications.operation_failed(
            operation_id=8, kind="user.delete", subject="user:dana", attempts=1, error="boom"
        )
        notifications.staff_test(requested_by="carol")

    assert _contents(fake_discord) == [
        "<@&987654321> [signup_waiting] dana (Dana Scully) confirmed their email and waits for approval.",
        "<@&987654321> [account_created] dana now has a YunoHost account (dana@\u200bblahaj.land).",
        "<@&987654321> [provisioning_failed] The YunoHost account of dana could not be created "
        "(operation #7, 3 attempt(s)): LDAP down",
        "<@&987654321> [operation_failed] YunoHost operation #8 (user.delete, user:dana) failed after 1 attempt(s): boom",
        "<@&987654321> [test] Test notification requested by carol: staff notifications work.",
    ]
    assert all(e["json"]["allowed_mentions"] == {"parse": [], "roles": ["987654321"]} for e in fake_discord.received)


@pytest.mark.django_db
def test_user_text_can_neither_ping_nor_format(fake_discord):
    with tasks_context():
        notifications.signup_waiting(
            username="dana", display_name="@everyone <@&111> <@222> **big** [click](https://evil.example)\nline two"
        )

    (content,) = _contents(fake_discord)
    assert content.startswith("<@&987654321> [signup_waiting] dana (")
    assert "@everyone" not in content and "<@&111>" not in content and "<@222>" not in content
    assert "@\u200beveryone" in content
    assert "\\*\\*big\\*\\*" in content and "\\[click\\]" in content
    assert "\n" not in content


@pytest.mark.django_db
def test_a_notification_survives_429_then_5xx_and_lands(fake_discord):
    fake_discord.script = [(429, {"retry_after": 0.01, "global": False}, {}), (502, {}, {}), (204, {}, {})]

    with tasks_context():
        notifications.account_created(username="dana", mail_address="dana@blahaj.land")

    assert len(fake_discord.received) == 3
    assert fake_discord.script == []
    assert len(set(_contents(fake_discord))) == 1  # the same message each time


def test_the_test_notification_says_when_no_webhook_is_set(settings):
    settings.DISCORD_WEBHOOK_URL = ""

    assert notifications.staff_test(requested_by="carol") is False


def test_staff_send_a_test_notification_from_the_admin(admin_client, admin_user, fake_discord):
    with tasks_context():
        response = admin_client.post(
            "/admin/accounts/user/",
            {"action": "send_test_notification", "_selected_action": [admin_user.pk]},
            follow=True,
        )

    assert b"A test notification is on its way to Discord." in response.content
    assert _contents(fake_discord) == [
        f"<@&987654321> [test] Test notification requested by {admin_user.username}: staff notifications work."
    ]
