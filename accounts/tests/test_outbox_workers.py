"""The outbox against a broker that stops: a Redis of the test's own (the broker; the cache stays
on the shared one), real Celery workers, emails written to files by the worker, Discord on a
local HTTP server. What a committed change promised arrives once the broker is back, once."""
# ruff: noqa: F811 - fixtures are imported by name, then requested as arguments

from __future__ import annotations

import email
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone
from rest_framework.test import APIClient

import notifications
from accounts import emails
from accounts.models import User
from blahaj import outbox
from blahaj.celery import app as celery_app
from blahaj.models import OutboxMessage
from conftest import PASSWORD
from provisioning.tests.conftest import emulator  # noqa: F401 - the fixture
from provisioning.tests.test_workers import PrivateRedis, Workers, private_redis, wait_for, workers  # noqa: F401
from testing import ROOT, running_fake_discord

pytestmark = [pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SIGNUPS = [
    {"username": name, "display_name": name.title(), "email": f"{name}@example.org", "password": PASSWORD}
    for name in ("dana", "erin")
]


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """This process publishes to the broker at `url`; its cache stays where it was."""
    # The app keeps the connection and producer pools of the first broker it used: a new URL
    # needs new pools (private attributes, which the stubs do not know).
    app: Any = celery_app
    saved = app.conf.broker_url, app._pool, app.amqp._producer_pool
    app.conf.broker_url = url
    app._pool = app.amqp._producer_pool = None
    try:
        yield
    finally:
        if app.amqp._producer_pool is not None:
            app.amqp._producer_pool.force_close_all()
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app._pool, app.amqp._producer_pool = saved


@contextmanager
def stopping_at_commit(broker: PrivateRedis) -> Iterator[None]:
    """The broker stops right after the next sign-up commits, before its email is queued."""

    def signed_up(sender, instance, created, **kwargs) -> None:
        if created:
            transaction.on_commit(broker.kill)  # the account's INSERT comes before its email's

    post_save.connect(signed_up, sender=User, weak=False)
    try:
        yield
    finally:
        post_save.disconnect(signed_up, sender=User)


def _mails(folder: Path) -> list[Message]:
    """Every email the file backend wrote (several to a file, one file per connection)."""
    found = []
    for path in sorted(folder.glob("*.log")):
        for part in path.read_text().split("\n" + "-" * 79 + "\n"):
            if part.strip():
                found.append(email.message_from_string(part))
    return found


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


def _start_mail_worker(workers: Workers, mail_dir: Path, **extra: str) -> None:
    workers.start(
        "mail",
        queue="default",
        concurrency=1,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        **extra,
    )


def test_sign_ups_committed_as_the_broker_stops_get_their_email_once_it_is_back(
    workers, private_redis, mail_dir, caplog
):
    caplog.set_level(logging.WARNING, logger="blahaj.outbox")
    workers.redis_url = private_redis.url
    client = APIClient()
    with publishing_to(private_redis.url):
        with stopping_at_commit(private_redis):
            first = client.post("/api/user/register", SIGNUPS[0], format="json")
        second = client.post("/api/user/register", SIGNUPS[1], format="json")  # the broker is still down

        assert (first.status_code, second.status_code) == (201, 201)
        assert "Could not queue accounts.tasks.send_account_email" in caplog.text
        waiting = OutboxMessage.objects.order_by("id")
        assert [(m.task, m.status, m.last_error) for m in waiting] == [
            ("accounts.tasks.send_account_email", "waiting", "OperationalError")
        ] * 2
        assert all(m.next_attempt_at is not None and m.next_attempt_at <= timezone.now() for m in waiting)
        assert _mails(mail_dir) == []

        private_redis.start()
        _start_mail_worker(workers, mail_dir)
        assert _mails(mail_dir) == []  # nothing re-queued itself: the sweeper does it
        assert outbox.outbox_sweep() == 2

        wait_for(lambda: len(_mails(mail_dir)) >= 2, timeout=60, what="the two confirmation emails")
        wait_for(lambda: not OutboxMessage.objects.exclude(status="sent").exists(), timeout=10, what="the rows marked")
        assert outbox.outbox_sweep() == 0

    mails = _mails(mail_dir)
    assert sorted(m["To"] for m in mails) == ["dana@example.org", "erin@example.org"]
    assert {m["Subject"] for m in mails} == {"Confirm your email for blahaj.land"}
    assert PASSWORD not in caplog.text


def test_a_message_published_twice_reaches_the_worker_twice_and_sends_once(workers, private_redis, mail_dir, make_user):
    workers.redis_url = private_redis.url
    alice = make_user("alice")
    with publishing_to(private_redis.url):
        with transaction.atomic():
            emails.send_password_changed(user=alice)
        message = OutboxMessage.objects.get()
        assert (message.status, message.attempts, message.last_error) == ("waiting", 0, "")  # published once
        # No worker yet: the sweeper takes the message for lost and publishes it again.
        assert outbox.outbox_sweep(now=message.next_attempt_at) == 1
        assert OutboxMessage.objects.get().attempts == 1

        _start_mail_worker(workers, mail_dir)
        log = workers.running["mail"][1]
        wait_for(lambda: "was taken by another copy" in log.read_text(), timeout=60, what="the second copy")

    (sent,) = _mails(mail_dir)
    assert sent["To"] == "alice@example.org"
    message.refresh_from_db()
    assert message.status == "sent" and message.claimed_by.startswith(f"outbox-{message.pk}-")


def test_a_discord_ping_survives_a_broker_outage(workers, private_redis, settings):
    workers.redis_url = private_redis.url
    with running_fake_discord(settings) as discord, publishing_to(private_redis.url):
        private_redis.kill()
        with transaction.atomic():
            notifications.account_created(username="dana", mail_address="dana@blahaj.land")

        message = OutboxMessage.objects.get()
        assert (message.task, message.status, message.last_error) == (
            "blahaj.discord.post",
            "waiting",
            "OperationalError",
        )
        assert discord.received == []

        private_redis.start()
        workers.start(
            "discord",
            queue="default",
            concurrency=1,
            DISCORD_WEBHOOK_URL=discord.url,
            DISCORD_ADMIN_ROLE_ID=settings.DISCORD_ADMIN_ROLE_ID,
        )
        assert outbox.outbox_sweep() == 1
        wait_for(lambda: len(discord.received) >= 1, timeout=60, what="the Discord ping")

    (ping,) = discord.received
    content = "<@&987654321> [account_created] dana now has a YunoHost account (dana@\u200bblahaj.land)."
    assert ping["json"]["content"] == content
    assert OutboxMessage.objects.get().status == "sent"


def test_a_message_no_worker_takes_is_published_less_and_less_often_then_fails(
    private_redis, make_user, settings, caplog
):
    settings.OUTBOX_RETRY_AFTER, settings.OUTBOX_MAX_ATTEMPTS = 60, 3
    alice = make_user("alice")
    with publishing_to(private_redis.url):
        with transaction.atomic():
            emails.send_password_changed(user=alice)
        message = OutboxMessage.objects.get()
        assert message.attempts == 0 and message.next_attempt_at is not None
        assert 59 <= (message.next_attempt_at - message.due_at).total_seconds() <= 61

        for attempts, wait in ((1, 60), (2, 120)):
            assert outbox.outbox_sweep(now=message.next_attempt_at) == 1
            message.refresh_from_db()
            assert message.attempts == attempts and message.next_attempt_at is not None
            assert wait - 1 <= (message.next_attempt_at - timezone.now()).total_seconds() <= wait + 1
        assert outbox.outbox_sweep(now=message.next_attempt_at) == 1

    failed = OutboxMessage.objects.get()
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 3, None)
    assert "published 3 times, no worker took it" in caplog.text


@contextmanager
def beat(workers: Workers, tmp_path: Path, **extra: str) -> Iterator[Path]:
    """`celery beat` on this test's broker and database; yields its log."""
    log = tmp_path / "beat.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "blahaj", "beat", "-s", str(tmp_path / "schedule"), "-l", "INFO"],
            cwd=ROOT,
            env=workers.env(**extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield log
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_beat_and_a_worker_send_what_the_outage_held_back(workers, private_redis, mail_dir, make_user, tmp_path):
    workers.redis_url = private_redis.url
    alice = make_user("alice")
    with publishing_to(private_redis.url):
        private_redis.kill()
        with transaction.atomic():
            emails.send_password_changed(user=alice)
        assert OutboxMessage.objects.get().last_error == "OperationalError"

        private_redis.start()
        _start_mail_worker(workers, mail_dir)
        with beat(workers, tmp_path, OUTBOX_SWEEP_INTERVAL="1") as log:
            wait_for(lambda: len(_mails(mail_dir)) >= 1, timeout=60, what=f"the email\n{log.read_text()}")
            assert "blahaj.outbox.sweep" in log.read_text()

    (sent,) = _mails(mail_dir)
    assert (sent["To"], sent["Subject"]) == ("alice@example.org", "Your blahaj.land password was changed")
    assert OutboxMessage.objects.get().status == "sent"
